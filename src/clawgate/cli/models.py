"""`clawgate models …`: models, their credentials, the decisions of recent turns."""

from __future__ import annotations

import click

from clawgate.cli.auth import auth_group
from clawgate.cli.decisions import decisions
from clawgate.cli.status import status


@click.group("models")
def models() -> None:
    """Models and the credentials behind them."""


models.add_command(auth_group)
models.add_command(status)
models.add_command(decisions)

"""`clawgate models …`: models, their credentials, the decisions of recent turns."""

from __future__ import annotations

import click

from clawgate.cli.auth import auth_group
from clawgate.cli.decisions import decisions
from clawgate.cli.models_chain import aliases, fallbacks, set_primary
from clawgate.cli.models_list import list_models
from clawgate.cli.status import status


@click.group("models")
def models() -> None:
    """Models and the credentials behind them."""


models.add_command(list_models)
models.add_command(set_primary)
models.add_command(fallbacks)
models.add_command(aliases)
models.add_command(auth_group)
models.add_command(status)
models.add_command(decisions)

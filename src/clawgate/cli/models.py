"""`clawgate models …`: models, their credentials, and (later) their status."""

from __future__ import annotations

import click

from clawgate.cli.auth import auth_group


@click.group("models")
def models() -> None:
    """Models and the credentials behind them."""


models.add_command(auth_group)

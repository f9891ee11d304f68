"""The `clawgate` command: a thin skin over the service layers, one module per command."""

from __future__ import annotations

import click

from clawgate import __version__
from clawgate.cli._app import App, Group
from clawgate.cli.channels import channels_group
from clawgate.cli.chat import chat
from clawgate.cli.doctor import doctor
from clawgate.cli.gateway import gateway_group
from clawgate.cli.importers import import_group
from clawgate.cli.models import models
from clawgate.cli.setup import setup

__all__ = ["App", "cli", "main"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clawgate")
def cli() -> None:
    """clawgate: a self-hosted gateway for personal AI assistants."""


cli.add_command(setup)
cli.add_command(chat)
cli.add_command(models)
cli.add_command(import_group)
cli.add_command(gateway_group)
cli.add_command(channels_group)
cli.add_command(doctor)


def main() -> None:
    cli(prog_name="clawgate")

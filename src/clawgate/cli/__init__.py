"""The `clawgate` command: a thin skin over the service layers, one module per command.

Commands load lazily (`_lazy`): `clawgate --help` imports none of them, so a shell prompt or
a cron job does not pay for the gateway server, the providers or the config schema."""

from __future__ import annotations

import click

from clawgate import __version__
from clawgate.cli._app import App, Group
from clawgate.cli._lazy import LazyGroup, Table

__all__ = ["App", "cli", "main"]

COMMANDS: Table = {
    "setup": (
        "clawgate.cli.setup",
        "setup",
        "Create the state directory and a commented default config (idempotent).",
    ),
    "chat": (
        "clawgate.cli.chat",
        "chat",
        "Answer MESSAGE in one turn, or chat interactively when no MESSAGE is given.",
    ),
    "models": ("clawgate.cli.models", "models", "Models and the credentials behind them."),
    "import": (
        "clawgate.cli.importers",
        "import_group",
        "Copy logins and settings from OpenClaw or the Codex CLI; the source is never changed.",
    ),
    "gateway": (
        "clawgate.cli.gateway",
        "gateway_group",
        "The gateway: OpenAI-compatible API and control API on 127.0.0.1.",
    ),
    "channels": (
        "clawgate.cli.channels",
        "channels_group",
        "Chat channels the gateway answers in (Telegram).",
    ),
    "logs": (
        "clawgate.cli.logs",
        "logs",
        "The gateway's log: every request and turn, each line with its request and turn id.",
    ),
    "state": (
        "clawgate.cli.state",
        "state_group",
        "Where the state records live: SQLite's state.db or PostgreSQL.",
    ),
    "usage": (
        "clawgate.cli.usage",
        "usage",
        "Requests, tokens, failures, fallbacks and the estimated cost of metered turns.",
    ),
    "doctor": (
        "clawgate.cli.doctor",
        "doctor",
        "Check the config (schema, OpenClaw keys), the vault key and file modes, every "
        "profile, state.db, stale files, the gateway unit and the running gateway.",
    ),
}


class Root(LazyGroup, Group):
    """The root group: lazy commands, clawgate's errors rendered without a traceback."""


@click.group(cls=Root, table=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clawgate")
def cli() -> None:
    """clawgate: a self-hosted gateway for personal AI assistants."""


def main() -> None:
    cli(prog_name="clawgate")

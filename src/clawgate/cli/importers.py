"""`clawgate import …`: copy credentials and settings from other tools (read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from clawgate import importers
from clawgate.cli._app import App, pass_app
from clawgate.config import codex_home as default_codex_home
from clawgate.config import openclaw_state_dir
from clawgate.names import shown


@click.group("import")
def import_group() -> None:
    """Copy logins and settings from OpenClaw or the Codex CLI; the source is never changed."""


def _name(what: str) -> str:
    """A name from another tool's files, printed as one printable line."""
    return what if what.isprintable() else shown(what)


def _report(app: App, report: importers.ImportReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _show(report)
    if report.imported:
        app.err.print(f"[yellow]warning:[/] {escape(importers.SHARED_GRANT_WARNING)}")
    if report.kept and not as_json:
        app.err.print(
            "[yellow]kept your settings[/] (to use OpenClaw's instead, run each command):"
        )
        for what, command in report.kept:
            app.err.print(f"  {escape(what)}\n    {escape(command)}")


def _show(report: importers.ImportReport) -> None:
    for line in report.profiles:
        if line.became is not None:
            became = f" → {line.became}" if line.became != line.profile else ""
            why = f" ({line.reason})" if line.reason else ""
            click.echo(f"imported {_name(line.profile)}{became} from {line.origin}{why}")
    for what, why in report.skipped:
        click.echo(f"skipped  {_name(what)}: {why}")
    for change in report.config:
        click.echo(f"config   {change}")
    for note in report.notes:
        click.echo(f"note     {note}")
    if not (report.profiles or report.problems or report.config):
        click.echo(f"nothing to import from {report.source}")


@import_group.command("openclaw")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="OpenClaw's state dir (default: $OPENCLAW_STATE_DIR or ~/.openclaw).",
)
@click.option(
    "--agent",
    metavar="ID",
    help="Import only this OpenClaw agent's logins and chain (default: all agents' logins, "
    "the default agent's chain).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def openclaw(app: App, state_dir: Path | None, agent: str | None, as_json: bool) -> None:
    """Import auth profiles (API keys, tokens, OAuth logins) and the model chain from OpenClaw:
    its SQLite stores and JSON files. ChatGPT logins filed under openai move to openai-codex."""
    if state_dir is None:
        state_dir = openclaw_state_dir(app.env)
    report = importers.import_openclaw(
        app.vault, app.paths.config_file, app.env, state_dir, agent=agent
    )
    _report(app, report, as_json)


@import_group.command("codex-cli")
@click.option(
    "--codex-home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The Codex CLI's home (default: $CODEX_HOME or ~/.codex).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def codex_cli(app: App, codex_home: Path | None, as_json: bool) -> None:
    """Import the ChatGPT login (and API key, if any) of the Codex CLI."""
    if codex_home is None:
        codex_home = default_codex_home(app.env)
    report = importers.import_codex_cli(app.vault, app.paths.config_file, app.env, codex_home)
    _report(app, report, as_json)

"""`clawgate import …`: copy credentials and settings from other tools (read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from clawgate import auth
from clawgate.cli._app import App, pass_app
from clawgate.config import codex_home as default_codex_home
from clawgate.config import openclaw_state_dir


@click.group("import")
def import_group() -> None:
    """Copy logins and settings from OpenClaw or the Codex CLI; the source is never changed."""


def _report(app: App, report: auth.ImportReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    for profile_id in report.imported:
        click.echo(f"imported {profile_id}")
    for what, why in report.skipped:
        click.echo(f"skipped  {what}: {why}")
    if report.config:
        click.echo(f"config   {', '.join(report.config)}")
    if not (report.imported or report.skipped or report.config):
        click.echo(f"nothing to import from {report.source}")
    if report.imported:
        app.err.print(f"[yellow]warning:[/] {escape(auth.SHARED_GRANT_WARNING)}")


@import_group.command("openclaw")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="OpenClaw's state dir (default: $OPENCLAW_STATE_DIR or ~/.openclaw).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def openclaw(app: App, state_dir: Path | None, as_json: bool) -> None:
    """Import auth profiles (API keys, tokens, OAuth logins) and the model chain from OpenClaw."""
    if state_dir is None:
        state_dir = openclaw_state_dir(app.env)
    report = auth.import_openclaw(app.vault, app.paths.config_file, app.env, state_dir)
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
    report = auth.import_codex_cli(app.vault, app.paths.config_file, app.env, codex_home)
    _report(app, report, as_json)

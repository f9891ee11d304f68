"""`clawgate doctor [--fix] [--dry-run] [--json]`: every check with its status and fix."""

from __future__ import annotations

import json

import click
from rich.markup import escape
from rich.syntax import Syntax

from clawgate.cli._app import App, pass_app
from clawgate.clock import SystemClock
from clawgate.config import ConfigError
from clawgate.diagnostics import run_doctor

_STYLE = {"ok": "green", "fixed": "green", "warn": "yellow", "fail": "red"}
_INDENT = " " * 7  # the width of "fixed  ": where a check's name starts


@click.command("doctor")
@click.option(
    "--fix", is_flag=True, help="Apply the safe repairs (each changed file is backed up)."
)
@click.option("--dry-run", is_flag=True, help="Show what --fix would change, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def doctor(app: App, fix: bool, dry_run: bool, as_json: bool) -> None:
    """Check the config (schema, OpenClaw keys), the vault key and file modes, every profile,
    state.db, stale files, the gateway unit and the running gateway.

    --fix migrates an OpenClaw-shaped config (openai/* on the Codex runtime becomes
    openai-codex/*; auth.order entries move with it), tightens file modes and removes stale
    files, with a timestamped backup of every file it changes and a receipt in the
    state directory's doctor/ folder. Running it twice changes nothing the second time.
    """
    report = run_doctor(
        app.paths, app.env, app.vault, SystemClock(), fix=fix or dry_run, dry_run=dry_run
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for check in report.checks:
            style = _STYLE[check.status]
            # A message's own lines (a config error's places) and the fix line up under the
            # check's name.
            message = escape(check.message).replace("\n", "\n" + _INDENT)
            app.out.print(f"[{style}]{check.status:>5}[/]  {escape(check.name)}: {message}")
            if check.fix and check.status in ("warn", "fail"):
                fix_line = escape(check.fix).replace("\n", "\n" + _INDENT + "     ")
                app.out.print(f"{_INDENT}fix: {fix_line}")
        if report.diff and (dry_run or not report.changes):
            app.out.print(Syntax(report.diff, "diff", theme="ansi_dark"))
        if dry_run:
            app.out.print("dry run: nothing was changed")
        elif report.receipt:
            app.out.print(f"receipt: {escape(report.receipt)}")
    if report.bad_config:
        raise SystemExit(ConfigError.exit_code)
    if report.failed:
        raise SystemExit(1)

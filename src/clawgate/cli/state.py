"""`clawgate state migrate --to postgres|sqlite`: copy the state records (sessions, decisions,
health, usage, probes, stored responses, the Telegram channel's) from the other backend into
this one (`state.copy_records`), and the vault's envelopes and secrets (`vault.copy_vault`).
The source is only read; running it again copies nothing twice."""

from __future__ import annotations

import contextlib
import json
from typing import Literal

import click

from clawgate.cli._app import App, pass_app
from clawgate.errors import ClawgateError
from clawgate.postgres import database_url
from clawgate.state import State, copy_records, open_postgres
from clawgate.vault import Vault, copy_vault


@click.group("state")
def state_group() -> None:
    """Where the state records live: SQLite's state.db or PostgreSQL."""


@state_group.command("migrate")
@click.option(
    "--to",
    "to",
    type=click.Choice(["postgres", "sqlite"]),
    required=True,
    help="The backend to copy into (from the other one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was copied as JSON.")
@pass_app
def migrate(app: App, to: Literal["postgres", "sqlite"], as_json: bool) -> None:
    """Copy every state record and the vault's envelopes into the backend --to from the
    other one, verify that each arrived, and leave the source as it was. Safe to run again:
    nothing is copied twice. The vault key is never copied: keep using the same one."""
    url = database_url(app.env)  # both directions need it; a clear error when it is unset
    if not app.paths.state_db.exists() and to == "postgres":
        raise ClawgateError(
            f"there is no {app.paths.state_db} to copy from",
            fix="check CLAWGATE_STATE_DIR, or start with an empty database: nothing to copy",
        )
    with contextlib.ExitStack() as opened:
        sqlite = State.open(app.paths.state_db)
        opened.callback(sqlite.close)
        postgres = State(open_postgres(url))
        opened.callback(postgres.close)
        source, target = (sqlite, postgres) if to == "postgres" else (postgres, sqlite)
        report = copy_records(source.conn, target.conn)
        where = target.conn.describe()
        # The vault's envelopes move too: the same sealed bytes, the same key (never copied).
        files = Vault.open(app.paths.state_dir, app.env, backend="sqlite")
        database = Vault.open(app.paths.state_dir, app.env, backend="postgres")
        opened.callback(database.close)
        vault = copy_vault(files, database) if to == "postgres" else copy_vault(database, files)
    if as_json:
        tables = [vars(t) for t in report.tables]
        document = {"to": to, "target": where, "tables": tables, "vault": vars(vault)}
        click.echo(json.dumps(document, indent=2))
        return
    for t in report.tables:
        click.echo(
            f"{t.table}: {t.source} in the source, {t.copied} copied, {t.already} already there"
        )
    click.echo(
        f"vault: {vault.profiles} profiles in the source, {vault.copied} copied, "
        f"{vault.already} already there; {vault.secrets_copied} of {vault.secrets} secrets copied"
    )
    for skipped in vault.skipped:
        click.echo(f"not copied (unreadable in the source): {skipped}")
    click.echo(f"copied {report.copied} rows into {where}; the source is unchanged")
    if app.config.settings.state.backend != to:
        click.echo(f'to use it, set state.backend to "{to}" in {app.paths.config_file}')

"""`clawgate gateway keys …`: client keys for the gateway's callers (README, "Client keys").
A running gateway picks up a new, revoked or rotated key on its next request."""

from __future__ import annotations

import json
import re

import click

from clawgate.cli._app import App, pass_app
from clawgate.cli._format import when
from clawgate.service import ClientKey, ClientKeyStore

__all__ = ["keys_group"]

_DURATION = re.compile(r"(\d+)([hdw])")
_SECONDS = {"h": 3600, "d": 86400, "w": 604800}


def _expires(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    match = _DURATION.fullmatch(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise click.BadParameter(f"{value!r} is not a duration like 90d, 2w or 12h")
    return int(match.group(1)) * _SECONDS[match.group(2)]


@click.group("keys")
def keys_group() -> None:
    """Client keys: API keys for callers, each limited to some models, a rate and tokens a day."""


@keys_group.command("create")
@click.argument("name")
@click.option(
    "--models",
    "models",
    multiple=True,
    metavar="REF",
    help="A model ref, alias or `clawgate` (the default chain) it may use; repeat for more "
    "(default: all).",
)
@click.option("--rpm", type=click.IntRange(min=1), help="Requests a minute it may send.")
@click.option(
    "--tokens-per-day", type=click.IntRange(min=1), help="Tokens (in + out) a UTC day it may use."
)
@click.option("--expires", callback=_expires, metavar="DURATION", help="Expire after 90d, 2w, 12h.")
@pass_app
def create(
    app: App,
    name: str,
    models: tuple[str, ...],
    rpm: int | None,
    tokens_per_day: int | None,
    expires: int | None,
) -> None:
    """Make a key and print it once; only its hash is kept."""
    record, value = ClientKeyStore(app.vault).create(
        name, models=models, rpm=rpm, tokens_per_day=tokens_per_day, expires_in=expires
    )
    app.err.print(f"client key {record.name} ({_limits(record)}); it is shown only this once:")
    click.echo(value.reveal())


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key, in an array.")
@pass_app
def list_keys(app: App, as_json: bool) -> None:
    """The keys and their limits (never the keys themselves)."""
    keys = ClientKeyStore(app.vault).all()
    if as_json:
        click.echo(json.dumps([k.view() for k in keys], indent=2))
        return
    if not keys:
        click.echo("no client keys; make one with: clawgate gateway keys create NAME")
        return
    for key in keys:
        click.echo(f"{key.name:<24} created {when(key.created_at)}  {_limits(key)}")


@keys_group.command("revoke")
@click.argument("name")
@pass_app
def revoke(app: App, name: str) -> None:
    """Delete a key: it stops working at once."""
    ClientKeyStore(app.vault).revoke(name)
    click.echo(f"revoked {name}")


@keys_group.command("rotate")
@click.argument("name")
@pass_app
def rotate(app: App, name: str) -> None:
    """Replace a key's value, keeping its name and limits; the old value stops working."""
    value = ClientKeyStore(app.vault).rotate(name)
    app.err.print(f"new value of client key {name}; it is shown only this once:")
    click.echo(value.reveal())


def _limits(key: ClientKey) -> str:
    parts = [
        "models: " + (", ".join(key.models) if key.models else "all"),
        f"rpm: {key.rpm or 'unlimited'}",
        f"tokens/day: {key.tokens_per_day or 'unlimited'}",
        f"expires: {when(key.expires_at) if key.expires_at else 'never'}",
    ]
    return "; ".join(parts)

"""`clawgate channels telegram …`: the bot's token, who may talk to it, and its state."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
import httpx

from clawgate.channels import telegram
from clawgate.cli._app import App, pass_app
from clawgate.cli._format import when
from clawgate.cli.gateway import tell_gateway
from clawgate.clock import SystemClock
from clawgate.errors import ClawgateError
from clawgate.service import running_gateway
from clawgate.state import State, open_state


@click.group("channels")
def channels_group() -> None:
    """Chat channels the gateway answers in (Telegram)."""


@channels_group.group("telegram")
def telegram_group() -> None:
    """The Telegram bot: token, pairing, allowlist, status."""


def _state(app: App) -> State:
    return open_state(app.config.settings, app.paths, app.env)


@telegram_group.command("add")
@click.option("--token-stdin", is_flag=True, help="Read the bot token from standard input.")
@pass_app
def add(app: App, token_stdin: bool) -> None:
    """Store the bot's token (from @BotFather) in the vault, checked with getMe, and turn
    the channel on (channels.telegram.enabled)."""
    if not token_stdin:
        raise click.UsageError(
            "pass the token on standard input with --token-stdin "
            "(a token on the command line ends up in your shell history)"
        )
    settings = app.config.settings.channels.telegram
    identity = asyncio.run(
        telegram.add(app.vault, settings, app.paths.config_file, app.env, sys.stdin.read())
    )
    click.echo(
        f"stored the token of @{identity.username} ({identity.name}) as {telegram.TOKEN_PROFILE}"
    )
    click.echo("next: write to the bot, then approve yourself with the code it sends:")
    click.echo("  clawgate channels telegram pair CODE")
    tell_gateway(app)


@telegram_group.command("remove")
@pass_app
def remove(app: App) -> None:
    """Delete the bot's token and turn the channel off."""
    if telegram.remove(app.vault, app.paths.config_file, app.env):
        click.echo(f"removed {telegram.TOKEN_PROFILE}; the channel is off")
    else:
        click.echo("no bot token was stored; the channel is off")
    tell_gateway(app)


@telegram_group.command("pair")
@click.argument("code")
@pass_app
def pair(app: App, code: str) -> None:
    """Approve the user the bot gave CODE to (the first one approved is the owner)."""
    state = _state(app)
    try:
        access = telegram.pair(state.telegram, code, SystemClock())
    finally:
        state.close()
    who = f"{access.name} ({access.chat_id})" if access.name else str(access.chat_id)
    click.echo(f"paired {who} as {access.role}")


def _chat_id(ctx: click.Context, param: click.Parameter, value: str) -> int:
    text = value.strip()
    if not text.lstrip("-").isdigit() or len(text) > 20:
        raise click.BadParameter(
            f"{value!r} is not a Telegram id: a user's is a number (the bot's pairing message "
            "and `list` show it), a group's a negative number"
        )
    return int(text)


# A group's id is negative: "-100…" must read as the argument, not as an option.
_NEGATIVE_OK = {"ignore_unknown_options": True}


@telegram_group.command("allow", context_settings=_NEGATIVE_OK)
@click.argument("user_id", callback=_chat_id)
@pass_app
def allow(app: App, user_id: int) -> None:
    """Allow USER_ID (a user, or a group: its negative chat id) without pairing."""
    state = _state(app)
    try:
        access = telegram.allow(state.telegram, user_id, SystemClock())
    finally:
        state.close()
    click.echo(f"allowed {user_id} as {access.role}")


@telegram_group.command("deny", context_settings=_NEGATIVE_OK)
@click.argument("user_id", callback=_chat_id)
@pass_app
def deny(app: App, user_id: int) -> None:
    """Refuse USER_ID: the bot ignores them (and their open pairing codes)."""
    state = _state(app)
    try:
        telegram.deny(state.telegram, user_id, SystemClock())
    finally:
        state.close()
    click.echo(f"denied {user_id}")


def _overview(app: App) -> telegram.Overview:
    state = _state(app)
    try:
        return telegram.overview(
            app.vault, app.config.settings.channels.telegram, state.telegram, SystemClock()
        )
    finally:
        state.close()


@telegram_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@pass_app
def list_access(app: App, as_json: bool) -> None:
    """Who may talk to the bot, who is refused, and the open pairing codes."""
    found = _overview(app)
    if as_json:
        click.echo(json.dumps({k: found.to_json()[k] for k in ("access", "pendingCodes")}))
        return
    if not found.access and not found.codes:
        click.echo("nobody yet: write to the bot, then run: clawgate channels telegram pair CODE")
    for a in found.access:
        name = f"  {a.name}" if a.name else ""
        click.echo(f"{a.chat_id:>16}  {a.role:<8} since {when(a.added_at)}{name}")
    for p in found.codes:
        name = f" ({p.name})" if p.name else ""
        click.echo(f"{p.user_id:>16}  pending  code expires {when(p.expires_at)}{name}")


@telegram_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """The channel's state: in the running gateway (connected, conflict, …) and on disk."""
    facts: dict[str, Any] = _overview(app).to_json()
    facts["gateway"] = _live(app)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    live = facts["gateway"] or {}
    state = live.get("state") or ("no gateway running" if facts["gateway"] is None else "?")
    click.echo(f"telegram: {'enabled' if facts['enabled'] else 'disabled'}, {state}")
    if live.get("bot"):
        click.echo(f"  bot: @{live['bot']}")
    click.echo(f"  token: {'stored' if facts['tokenStored'] else 'none'}")
    click.echo(f"  api: {facts['apiRoot']} ({facts['mode']})")
    click.echo(f"  owner: {facts['owner'] or 'none yet'}; {len(facts['access'])} entries")
    if live.get("detail"):
        click.echo(f"  {live['detail']}")
    fix = live.get("fix") or (
        None if facts["tokenStored"] else "clawgate channels telegram add --token-stdin"
    )
    if fix:
        click.echo(f"  fix: {fix}")


def _live(app: App) -> dict[str, Any] | None:
    """The running gateway's view of the channel, or None when no gateway answers."""
    try:
        client = running_gateway(app.paths, app.env, app.vault)
        if client is None:
            return None
        channels = client.status().get("channels") or {}
    except (httpx.HTTPError, ValueError, ClawgateError):
        return None
    found: dict[str, Any] | None = channels.get("telegram")
    return found

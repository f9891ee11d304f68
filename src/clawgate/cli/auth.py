"""`clawgate models auth …`: the credentials behind each provider."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import click
import httpx
from rich.table import Table

from clawgate import auth
from clawgate.auth.logins import METHODS, Method
from clawgate.auth.oauth import LoginTools
from clawgate.cli._app import App, pass_app
from clawgate.cli._format import when
from clawgate.cli._login_ui import TerminalUI
from clawgate.cli._names import PROFILE_ID, PROVIDER
from clawgate.cli._providers import KNOWN_PROVIDER
from clawgate.cli._revoke import revoke_first
from clawgate.cli.gateway import tell_gateway
from clawgate.clock import SystemClock
from clawgate.vault import KeyUnavailable, StoredProfile

_DURATION = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 365d, 12h or 30m")
    return int(match.group(1)) * _SECONDS[match.group(2)]


@click.group("auth")
def auth_group() -> None:
    """Add, list and remove the credentials of each provider (kept in the encrypted vault)."""


def _stored(app: App, stored: StoredProfile) -> None:
    source = app.vault.key().source
    click.echo(
        f"stored {stored.profile_id} ({stored.kind.value}, {stored.kind.billing}) "
        f"generation {stored.generation}, vault key from {source}"
    )
    tell_gateway(app)


@auth_group.command("login")
@click.option(
    "--provider", type=KNOWN_PROVIDER, required=True, help="Provider id, e.g. openai-codex."
)
@click.option("--method", type=click.Choice(METHODS), help="Default: the provider's first method.")
@click.option(
    "--device-code",
    is_flag=True,
    help="Enter a code on another device (same as --method device-code).",
)
@click.option(
    "--profile-id", type=PROFILE_ID, help="Defaults to <provider>:<email> or <provider>:default."
)
@click.option("--set-default", is_flag=True, help="Put this profile first in auth.order.")
@click.option("--no-browser", is_flag=True, help="Print the login address; do not open a browser.")
@pass_app
def login(
    app: App,
    provider: str,
    method: Method | None,
    device_code: bool,
    profile_id: str | None,
    set_default: bool,
    no_browser: bool,
) -> None:
    """Log in to PROVIDER and keep the login as a profile in the vault.

    Nothing is stored unless the login completes; a new login of an existing profile
    replaces its credentials and clears its needs_login state.
    """
    auth.check_provider(provider)
    settings = app.config.settings
    ui = TerminalUI(app.err, open_browser=not no_browser)

    async def run() -> StoredProfile:
        async with httpx.AsyncClient(timeout=30) as http:
            tools = LoginTools(http=http, clock=SystemClock(), sleep=ui.sleep, ui=ui)
            return await auth.login(
                tools,
                app.vault,
                settings,
                app.paths.config_file,
                app.env,
                provider,
                method=method,
                device_code=device_code,
                profile_id=profile_id,
                set_default=set_default,
            )

    try:
        stored = asyncio.run(run())
    except KeyboardInterrupt:
        ui.close()
        app.err.print("login cancelled: nothing was stored")
        raise SystemExit(130) from None
    finally:
        ui.close()
    _stored(app, stored)


@auth_group.command("add")
@click.option(
    "--provider", type=KNOWN_PROVIDER, required=True, help="Provider id, e.g. openai or anthropic."
)
@click.option("--profile-id", type=PROFILE_ID, help="Defaults to <provider>:default.")
@click.option(
    "--api-key-stdin", is_flag=True, help="Read the API key from standard input (required)."
)
@pass_app
def add(app: App, provider: str, profile_id: str | None, api_key_stdin: bool) -> None:
    """Store an API key for PROVIDER, read from standard input."""
    if not api_key_stdin:
        raise click.UsageError(
            "pass the key on standard input with --api-key-stdin "
            "(a key on the command line ends up in your shell history)"
        )
    key = sys.stdin.read()
    stored = auth.add_api_key(app.vault, app.paths.config_file, app.env, provider, key, profile_id)
    _stored(app, stored)


@auth_group.command("paste-token")
@click.option("--provider", type=KNOWN_PROVIDER, required=True, help="Provider id, e.g. anthropic.")
@click.option("--profile-id", type=PROFILE_ID, help="Defaults to <provider>:manual.")
@click.option(
    "--expires-in",
    callback=_duration,
    metavar="DURATION",
    help="When the token expires, e.g. 365d.",
)
@pass_app
def paste_token(app: App, provider: str, profile_id: str | None, expires_in: int | None) -> None:
    """Store a static bearer token (e.g. an Anthropic setup token) for PROVIDER.

    The token is read from standard input, or asked for without echo on a terminal.
    """
    token = click.prompt("token", hide_input=True) if sys.stdin.isatty() else sys.stdin.read()
    expires_at = app.vault.clock.now() + expires_in if expires_in else None
    stored = auth.paste_token(
        app.vault,
        app.paths.config_file,
        app.env,
        provider,
        token,
        expires_at=expires_at,
        profile_id=profile_id,
    )
    _stored(app, stored)


@auth_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@pass_app
def list_profiles(app: App, as_json: bool) -> None:
    """Every profile with its kind, billing kind and state; secrets show their last 4 only."""
    views = auth.view_profiles(app.vault, app.config.settings)
    try:
        key_source: str | None = app.vault.key().source.value
    except KeyUnavailable:
        key_source = None
    if as_json:
        profiles = [view.to_json() for view in views]
        click.echo(json.dumps({"vaultKey": key_source, "profiles": profiles}, indent=2))
        return
    if not views:
        click.echo(
            "no profiles; add one with: clawgate models auth add --provider P --api-key-stdin"
        )
        return
    table = Table("profile", "kind", "billing", "state", "secret", "expires", "detail")
    for view in views:
        style = "green" if view.state == "ok" else "red"
        detail = " — ".join(part for part in (view.detail, view.fix) if part)
        table.add_row(
            view.profile_id,
            view.kind or "?",
            view.billing or "?",
            f"[{style}]{view.state}[/]",
            view.secret or "-",
            when(view.expires_at),
            detail,
        )
    app.out.print(table)
    app.out.print(f"vault key: {key_source or 'none yet'}")


@auth_group.command("logout")
@click.argument("profile", type=PROFILE_ID)
@click.option("--revoke", is_flag=True, help="First revoke the login at its issuer (RFC 7009).")
@click.option("--force", is_flag=True, help="With --revoke: delete here even if that fails.")
@pass_app
def logout(app: App, profile: str, revoke: bool, force: bool) -> None:
    """Delete PROFILE's local credentials and forget it in the config."""
    if revoke:
        revoke_first(app, profile, force)
    if auth.logout(app.vault, app.paths.config_file, app.env, profile):
        click.echo(f"logged out {profile}: local credentials deleted")
        tell_gateway(app)
    else:
        click.echo(f"{profile}: nothing stored")


@auth_group.group("order")
def order() -> None:
    """The order in which a provider's profiles are tried."""


@order.command("get")
@click.option("--provider", type=KNOWN_PROVIDER, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the order as JSON.")
@pass_app
def order_get(app: App, provider: str, as_json: bool) -> None:
    """Show PROVIDER's profile order."""
    ids = app.config.settings.auth.order.get(auth.check_provider(provider), [])
    if as_json:
        click.echo(json.dumps({"provider": provider, "order": ids}))
    else:
        click.echo(
            " ".join(ids)
            if ids
            else f"{provider}: no explicit order (OAuth, then token, then API key)"
        )


@order.command("set")
@click.option("--provider", type=KNOWN_PROVIDER, required=True)
@click.argument("profiles", type=PROFILE_ID, nargs=-1, required=True)
@pass_app
def order_set(app: App, provider: str, profiles: tuple[str, ...]) -> None:
    """Try PROVIDER's PROFILES in this order."""
    auth.set_order(app.paths.config_file, app.env, provider, list(profiles))
    click.echo(f"{provider}: {' '.join(dict.fromkeys(profiles))}")
    tell_gateway(app)


@order.command("clear")
# Any valid id, known or not: clearing is how a removed provider's order is cleaned up.
@click.option("--provider", type=PROVIDER, required=True)
@pass_app
def order_clear(app: App, provider: str) -> None:
    """Forget PROVIDER's explicit order."""
    auth.set_order(app.paths.config_file, app.env, provider, [])
    click.echo(f"{provider}: order cleared")
    tell_gateway(app)

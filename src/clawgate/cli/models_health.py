"""`clawgate models health [--json]` and `clawgate models health reset`: every cooldown, block
and circuit routing remembers (ROUTING.md, "Health"), and clearing them by hand.

The marks live in ``state.db``, which the gateway writes through, so listing reads it. A reset
goes to the running gateway when there is one (its turns consult the marks it holds), else to
``state.db`` directly."""

from __future__ import annotations

import json

import click
import httpx
from rich.markup import escape
from rich.table import Table

from clawgate.cli._app import App, pass_app
from clawgate.cli._format import when
from clawgate.cli._names import PROFILE_ID
from clawgate.clock import SystemClock
from clawgate.errors import ClawgateError
from clawgate.routing import Health, mark_json, resolve_ref
from clawgate.service import running_gateway
from clawgate.state import existing_state

_STYLE = {"active": "red", "open": "red", "half_open": "yellow", "counting": "yellow"}


class NothingNamed(ClawgateError):
    code = "bad_request"
    exit_code = 2


@click.group("health", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the marks as JSON.")
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """Every cooldown, block and circuit routing remembers, with its reason and end."""
    if ctx.invoked_subcommand is None:
        _show(ctx.find_object(App) or ctx.ensure_object(App), as_json)


def _marks(app: App) -> list[dict[str, object]]:
    state = existing_state(app.config.settings, app.paths, app.env)
    if state is None:
        return []
    clock = SystemClock()
    try:
        marks = sorted(
            Health(state.health, clock).marks.values(),
            key=lambda m: (m.profile, m.model or "", m.kind),
        )
        return [mark_json(m, clock.now()) for m in marks]
    finally:
        state.close()


def _show(app: App, as_json: bool) -> None:
    marks = _marks(app)
    if as_json:
        click.echo(json.dumps(marks, indent=2))
        return
    if not marks:
        click.echo("no cooldowns, blocks or circuits")
        return
    table = Table("kind", "profile", "model", "reason", "state", "ends", "failures")
    for m in marks:
        until = m["until"]
        table.add_row(
            str(m["kind"]),
            escape(str(m["profile"])),
            escape(str(m["model"] or "(every model)")),
            escape(str(m["reason"])),
            f"[{_STYLE.get(str(m['state']), 'green')}]{m['state']}[/]",
            "at a new login" if until is None else when(float(str(until))),
            str(m["failures"]),
        )
    app.out.print(table)


@health.command("reset")
@click.option("--profile", type=PROFILE_ID, metavar="ID", help="Clear this profile's marks.")
@click.option("--model", "ref", metavar="REF", help="Clear this model's marks (an alias works).")
@click.option("--all", "everything", is_flag=True, help="Clear every mark.")
@pass_app
def reset(app: App, profile: str | None, ref: str | None, everything: bool) -> None:
    """Clear the marks named: a profile's, a model's on every profile, or both together for
    that (profile, model) only; a running gateway picks the change up at once."""
    if everything and (profile or ref):
        raise NothingNamed(
            "--all clears every mark; it does not go with --profile or --model",
            fix="give --all alone, or name what to clear with --profile and --model",
        )
    if not (everything or profile or ref):
        raise NothingNamed(
            "nothing to clear is named",
            fix="name it: clawgate models health reset --profile ID and/or --model REF, or --all",
        )
    model = None
    if ref is not None:
        provider, name = resolve_ref(ref, app.config.settings)
        model = f"{provider}/{name}"
    cleared = _in_gateway(app, profile, model)
    if cleared is None:
        cleared = _in_state(app, profile, model)
    if not cleared:
        click.echo("nothing to clear: no mark matches")
        return
    for m in cleared:
        on = f" {m['model']}" if m["model"] else ""
        click.echo(f"cleared {m['kind']} of {m['profile']}{on} ({m['reason']})")


def _in_gateway(app: App, profile: str | None, model: str | None) -> list[dict[str, object]] | None:
    """The marks the running gateway cleared, or None when no gateway answers."""
    try:
        client = running_gateway(app.paths, app.env, app.vault)
        if client is None:
            return None
        cleared = list(client.reset_health(profile, model))
    except (httpx.HTTPError, ValueError, KeyError):
        app.err.print("[yellow]note:[/] a gateway is running but did not answer; state.db is reset")
        return None
    app.err.print(f"the running gateway (pid {client.pid}) cleared them; it uses the change now")
    return cleared


def _in_state(app: App, profile: str | None, model: str | None) -> list[dict[str, object]]:
    state = existing_state(app.config.settings, app.paths, app.env)
    if state is None:
        return []
    clock = SystemClock()
    try:
        dropped = Health(state.health, clock).reset(profile=profile, model=model)
        return [mark_json(m, clock.now()) for m in dropped]
    finally:
        state.close()

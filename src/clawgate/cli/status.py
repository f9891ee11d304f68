"""`clawgate models status [--probe …]`: each profile's honest state, the model chain, the
vault key and the gateway; with ``--probe``, one real request per profile."""

from __future__ import annotations

import json
import math
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from clawgate.cli._app import App, pass_app
from clawgate.cli._format import span, when
from clawgate.cli._model_refs import primary_lines
from clawgate.cli._names import PROFILE_ID
from clawgate.cli._providers import KNOWN_PROVIDER
from clawgate.cli._telegram_line import telegram_line
from clawgate.clock import SystemClock
from clawgate.diagnostics import ProfileReport, StatusReport, collect_status, gateway_facts
from clawgate.state import check_store, existing_state

_STATE_STYLE = {"ok": "green", "needs_login": "red", "tampered": "red", "unresolved": "red"}


@click.command("status")
@click.option("--probe", is_flag=True, help="Send one minimal real request per profile.")
@click.option(
    "--probe-provider",
    type=KNOWN_PROVIDER,
    metavar="P",
    help="Probe only this provider's profiles.",
)
@click.option("--probe-profile", type=PROFILE_ID, metavar="ID", help="Probe only this profile.")
@click.option(
    "--probe-timeout",
    type=click.FloatRange(min=0, min_open=True, max=600),
    default=30.0,
    show_default=True,
    metavar="S",
    help="Seconds each probe may take.",
)
@click.option(
    "--probe-concurrency",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    metavar="N",
    help="Probes at once.",
)
@click.option("--check", is_flag=True, help="Exit 1 if anything needs attention.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def status(
    app: App,
    probe: bool,
    probe_provider: str | None,
    probe_profile: str | None,
    probe_timeout: float,
    probe_concurrency: int,
    check: bool,
    as_json: bool,
) -> None:
    """Each profile: kind, billing, vault state, access validity, refresh grant, cooldowns,
    last use and the chain that uses it; then the model chain, the vault key and the gateway.

    Without --probe nothing leaves the machine. With --probe the requests run inside the
    running gateway when there is one (on the credentials that serve its turns), else here.
    """
    loaded = app.config
    clock = SystemClock()
    store = check_store(loaded.settings, app.paths, app.env)
    state = existing_state(loaded.settings, app.paths, app.env) if store.status != "fail" else None
    try:
        report = collect_status(
            loaded.settings,
            app.vault,
            state,
            clock,
            config=str(loaded.source) if loaded.source else None,
        )
    finally:
        if state is not None:
            state.close()
    report.state_store = store
    report.gateway, client = gateway_facts(app.paths, app.env, app.vault)
    probes: list[dict[str, Any]] | None = None
    ran_in = None
    if probe:
        asked = {
            "provider": probe_provider,
            "profile": probe_profile,
            "timeout": probe_timeout,
            "concurrency": probe_concurrency,
        }
        if client is not None:
            rounds = math.ceil(max(1, len(report.profiles) + 1) / probe_concurrency)
            probes, ran_in = client.probe(asked, timeout=probe_timeout * rounds + 10), "gateway"
        else:
            import asyncio  # --probe only: the status itself runs no event loop

            with app.err.status("probing…"):
                probes = asyncio.run(_probe_here(app, asked))
            ran_in = "process"
    attention = report.attention + [
        f"{p['profile']}: probe failed ({p['failure']}: {p['message']})"
        for p in probes or ()
        if not p["ok"]
    ]
    if as_json:
        document = report.to_json()
        document["attention"] = attention
        if probes is not None:
            document["probe"] = {"ranIn": ran_in, "results": probes}
        click.echo(json.dumps(document, indent=2))
    else:
        _show(app, report)
        if probes is not None:
            _show_probes(app, probes, ran_in)
        for reason in attention:
            app.out.print(f"[yellow]attention:[/] {escape(reason)}")
    if check and attention:
        raise SystemExit(1)


async def _probe_here(app: App, asked: dict[str, Any]) -> list[dict[str, Any]]:
    from clawgate.runtime import open_runtime, probe, probe_targets  # the providers, httpx

    async with open_runtime(app.config.settings, app.paths, app.env) as runtime:
        targets = probe_targets(runtime, provider=asked["provider"], profile=asked["profile"])
        results = await probe(
            runtime, targets, seconds=asked["timeout"], concurrency=asked["concurrency"]
        )
    return [r.to_json() for r in results]


def _access(p: ProfileReport) -> str:
    if p.valid_for is None:
        return "no expiry" if p.state == "ok" else "-"
    if p.valid_for <= 0:
        return f"[red]expired {span(p.valid_for)} ago[/]"
    return f"valid for {span(p.valid_for)}"


def _grant(p: ProfileReport) -> str:
    g = p.grant
    if g.state == "none":
        return "-"
    if g.state == "untested":
        return "untested"
    if g.state == "ok":
        return f"[green]ok[/] (refreshed {when(g.at)})"
    style = "red" if g.state == "dead" else "yellow"
    return f"[{style}]{g.state} since {when(g.at)}[/] ({escape(g.message or '')})"


def _show(app: App, report: StatusReport) -> None:
    table = Table(
        "profile",
        "kind",
        "state",
        "access",
        "refresh grant",
        "health",
        "last used",
        "last probe",
        "chain",
    )
    for p in report.profiles:
        state = f"[{_STATE_STYLE.get(p.state, 'yellow')}]{p.state}[/]"
        if p.state != "ok" and p.detail:
            state += f"\n{escape(p.detail)}"
        if p.fix and p.state != "ok":
            state += f"\nfix: {escape(p.fix)}"
        health = "\n".join(f"{m.kind} until {when(m.until)} ({m.reason})" for m in p.health)
        table.add_row(
            escape(p.profile),
            f"{p.kind or '?'} ({p.billing or '?'})",
            state,
            _access(p),
            _grant(p),
            health or "-",
            _last_used(p),
            _last_probe(p),
            escape(", ".join(p.used_by)) or "-",
        )
    if report.profiles:
        app.out.print(table)
    if report.chain_error:  # no primary to speak of: the chain's error below says why
        lines = [] if report.profiles else ["no profiles"]
    else:
        lines = primary_lines(app.config.settings, report.chain, bool(report.profiles))
    for line in lines:
        app.out.print(line)
    chain = Table("#", "model", "alias", "context", "profiles")
    for n, entry in enumerate(report.chain, 1):
        steps = ", ".join(
            s["profile"] if s["decision"] == "candidate" else f"{s['profile']} ({s['reason']})"
            for s in entry.steps
        )
        chain.add_row(
            str(n),
            escape(entry.ref),
            escape(entry.alias or "-"),
            f"{entry.context:,}" if entry.context else "-",
            escape(steps),
        )
    if report.chain:
        app.out.print(chain)
    elif not report.chain_error:
        primary = app.config.settings.agents.defaults.model.primary
        app.out.print(
            f"model chain: nothing to try ({escape(primary)} has no candidate); fix: "
            "clawgate models set <provider/model>"
        )
    if report.chain_error:
        app.out.print(f"[red]model chain:[/] {escape(report.chain_error)}")
        if report.chain_fix:
            app.out.print(f"  fix: {escape(report.chain_fix)}")
    key = report.vault_key or "none yet"
    if report.vault_key_error:
        key = f"[red]unavailable[/]: {escape(report.vault_key_error)}"
    app.out.print(f"vault key: {key}")
    app.out.print(f"config: {escape(report.config or 'built-in defaults (no file)')}")
    if store := report.state_store:
        said = escape(f"{store.backend} ({store.where}): {store.message}")
        app.out.print(f"state store: {'[red]' + said + '[/]' if store.status == 'fail' else said}")
    app.out.print(f"gateway: {_gateway(report.gateway or {})}")
    if channel := telegram_line((report.gateway or {}).get("telegram")):
        app.out.print(channel)


def _last_used(p: ProfileReport) -> str:
    if p.last_used is None or p.last_result in (None, "succeeded"):
        return when(p.last_used)
    return f"{when(p.last_used)}\n[yellow]{escape(p.last_result.replace('_', ' '))}[/]"


def _last_probe(p: ProfileReport) -> str:
    probe = p.last_probe
    if not probe:
        return "-"
    if probe.get("ok"):
        return f"{when(probe.get('at'))}\n[green]ok[/]"
    return f"{when(probe.get('at'))}\n[red]{escape(str(probe.get('failure')))}[/]"


def _gateway(facts: dict[str, Any]) -> str:
    if facts.get("running") is None and facts.get("error"):
        return f"[yellow]unknown[/] ({escape(facts['error'])})"
    if not facts.get("running"):
        return "not running"
    where = f"pid {facts['pid']} at {facts['url']}"
    if not facts.get("answering"):
        return f"[red]running but {escape(facts.get('error') or 'not answering')}[/] ({where})"
    if facts.get("configCurrent"):
        return f"running, current config ({where})"
    error = facts.get("configError")
    return f"[yellow]running on an older config[/]{f': {escape(error)}' if error else ''} ({where})"


def _show_probes(app: App, probes: list[dict[str, Any]], ran_in: str | None) -> None:
    table = Table("profile", "model", "credential", "request", "latency", "result")
    for p in probes:
        if p["ok"]:
            result = "[green]ok[/]"
        else:
            result = f"[red]{p['failure']}[/]: {escape(p['message'] or '')}"
            if p.get("fix"):
                result += f"\nfix: {escape(p['fix'])}"
        if p.get("note"):
            result += f"\n{escape(p['note'])}"
        usage = p.get("usage")
        if usage:
            result += "\n" + _windows(usage)
        latency = p.get("latencyMs")
        table.add_row(
            escape(p["profile"]),
            escape(p.get("model") or "-"),
            p["credential"],
            p["request"],
            f"{latency:.0f} ms" if latency is not None else "-",
            result,
        )
    app.out.print(f"probe (ran in {'the gateway' if ran_in == 'gateway' else 'this process'}):")
    app.out.print(table)


def _windows(usage: dict[str, Any]) -> str:
    parts = []
    for name, label in (("primary", "5h"), ("secondary", "week")):
        window = usage.get(name)
        if window:
            resets = f", resets {when(window['resets_at'])}" if window.get("resets_at") else ""
            parts.append(f"{label}: {window['used_percent']}% used{resets}")
    if usage.get("limit_reached"):
        parts.append("[red]limit reached[/]")
    return "; ".join(parts) or "usage: -"

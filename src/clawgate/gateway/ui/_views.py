"""What each dashboard page shows, read from what the gateway and the CLI already compute:
profiles and their fixes from `Gateway.status` (the control API's own answer), the chain from
`routing.plan` (the planner turns and `models status` use), turns from the decisions store,
usage from `state.usage_report` (as `clawgate usage` and ``/control/usage``), subscription
windows from the last probe of each profile, client keys from their store (the hash never
leaves it: `ClientKey.view`), channels from the Telegram host's status. Nothing is computed a
second way, and nothing secret is in any of it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from clawgate.gateway._state import Gateway
from clawgate.gateway.ui._logins import offers_device_login
from clawgate.routing import RoutingError, Skip, VaultProfiles, plan
from clawgate.service import ClientKey
from clawgate.state import Grouping, parse_since, prices_from

__all__ = ["chain", "keys", "status", "turns", "usage", "windows"]

TURNS_SHOWN = 25


def status(gateway: Gateway) -> dict[str, Any]:
    """``/control/status``'s answer, each profile marked with whether it can log in with a
    device code from the page."""
    settings = gateway.config.settings
    found = gateway.status()
    for profile in found["profiles"]:
        profile["deviceLogin"] = offers_device_login(profile["provider"], settings)
    return found


def chain(gateway: Gateway) -> dict[str, Any]:
    """Each step of the default chain: a candidate, or a skip with why and its fix."""
    settings = gateway.config.settings
    try:
        route = plan(settings, profiles=VaultProfiles(gateway.vault, settings))
    except RoutingError as exc:
        return {"steps": [], "error": exc.message, "fix": exc.fix}
    steps = []
    for step in route.steps:
        if isinstance(step, Skip):
            c = step.candidate
            steps.append(
                {
                    "ref": c.ref,
                    "profile": c.profile,
                    "decision": step.decision,
                    "reason": step.reason,
                    "fix": step.fix,
                }
            )
        else:
            steps.append(
                {
                    "ref": step.ref,
                    "profile": step.profile,
                    "decision": "candidate",
                    "reason": None,
                    "fix": None,
                }
            )
    return {"steps": steps, "error": None, "fix": None}


def turns(gateway: Gateway, last: int = TURNS_SHOWN) -> list[dict[str, Any]]:
    return [asdict(t) for t in gateway.state.decisions.last(last)]


def usage(gateway: Gateway, since_text: str, by: Grouping) -> dict[str, Any]:
    """`clawgate usage --since SINCE --by BY`; ValueError (its message for people) when
    ``since_text`` is no span."""
    since = parse_since(since_text, gateway.runtime.clock.now())
    prices = prices_from(gateway.config.settings)
    return gateway.state.usage_report(since, by, prices).to_json()


def windows(gateway: Gateway) -> list[dict[str, Any]]:
    """The subscription windows the last probe of each profile read (`models status --probe`)."""
    found = []
    for profile, probe in sorted(gateway.state.probes.latest().items()):
        read = probe.result.get("usage")
        if not isinstance(read, dict):
            continue
        rows = [
            {"name": label, **read[name]}
            for name, label in (("primary", "5 hours"), ("secondary", "week"))
            if isinstance(read.get(name), dict)
        ]
        found.append(
            {
                "profile": profile,
                "at": probe.at,
                "windows": rows,
                "limitReached": bool(read.get("limit_reached")),
            }
        )
    return found


def keys(found: list[ClientKey]) -> list[dict[str, Any]]:
    return [k.view() for k in found]

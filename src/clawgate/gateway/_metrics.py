"""``GET /metrics``: the Prometheus text format (docs/operations.md, "Metrics"), for the admin
token only (`_guard`: a client key is refused, as on every route outside ``/v1/``).

What happened (turns, attempts, tokens, refreshes, streams) is counted where it happens
(`clawgate.metrics`); what is true now is read here, at scrape time, by the process that
answers: every profile's state (the vault's, or ``blocked`` / ``needs_login`` while a health
mark stops the whole profile) and every circuit's, from the health marks in ``state.db``
(`routing.Health`), which every worker process writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clawgate import metrics as series
from clawgate.auth import ProfileView, view_profiles
from clawgate.failures import FailureClass
from clawgate.gateway._state import Gateway
from clawgate.routing import Health, mark_state

__all__ = ["CIRCUIT_STATES", "PROFILE_STATES", "ROUTES", "Scraped", "profile_state", "scraped"]

# Every state is a series, zero or not, so a dashboard's query never finds none.
PROFILE_STATES = ("ok", "needs_login", "blocked", "unresolved", "tampered", "missing")
CIRCUIT_STATES = ("closed", "open", "half_open")


class Scraped:
    """Gauges read at scrape time, as one collector."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def profile_state(view: ProfileView, health: Health) -> str:
    """The vault's state, unless a mark of the whole profile stops it now: a dead login
    (``needs_login``) or a block (``blocked``: quota, billing)."""
    if view.state != "ok":
        return view.state
    whole = [m for m in health.active(view.profile_id, view.generation) if m.model is None]
    if any(m.reason == FailureClass.AUTH_DEAD.value for m in whole):
        return "needs_login"
    return "blocked" if whole else "ok"


def scraped(views: list[ProfileView], health: Health) -> Scraped:
    profiles = GaugeMetricFamily("clawgate_profiles", "Profiles by state now", labels=["state"])
    each = GaugeMetricFamily(
        "clawgate_profile_state",
        "1 for each profile, labelled with its state now",
        labels=["profile", "provider", "state"],
    )
    states = Counter[str]()
    for view in views:
        state = profile_state(view, health)
        states[state] += 1
        each.add_metric([view.profile_id, view.provider, state], 1)
    for state in sorted(set(PROFILE_STATES) | set(states)):
        profiles.add_metric([state], states[state])

    circuits = GaugeMetricFamily(
        "clawgate_circuits",
        "Circuit breakers with failures since their last success, by state now",
        labels=["state"],
    )
    circuit = GaugeMetricFamily(
        "clawgate_circuit_state",
        "1 for each circuit breaker with failures since its last success, by state now",
        labels=["profile", "model", "state"],
    )
    now = health.clock.now()
    counted = Counter[str]()
    for mark in [m for m in health.marks.values() if m.kind == "circuit"]:
        state = mark_state(mark, now)
        state = "closed" if state == "counting" else state  # below the threshold: still closed
        counted[state] += 1
        circuit.add_metric([mark.profile, mark.model or "", state], 1)
    for state in CIRCUIT_STATES:
        circuits.add_metric([state], counted[state])
    return Scraped([profiles, each, circuits, circuit])


async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    # Decrypting every profile is blocking work, so it runs on a thread.
    views = await run_in_threadpool(view_profiles, gateway.vault, gateway.config.settings)
    # The marks in state.db, not this process's copy: with workers, every worker's turns.
    health = Health(gateway.state.health, gateway.runtime.clock)
    now = scraped(views, health)
    body = await run_in_threadpool(series.exposition, now)
    return Response(body, media_type=series.CONTENT_TYPE)


ROUTES = [Route("/metrics", metrics)]

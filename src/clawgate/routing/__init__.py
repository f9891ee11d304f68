"""Routing: which (model, profile) candidates a turn tries, in which order, what each failure
does, what health remembers, and the record of every decision (ROUTING.md)."""

from clawgate.routing._chain import (
    Candidate,
    Plan,
    ProfileInfo,
    ProfileSource,
    RoutingError,
    Skip,
    context_tokens,
    plan,
    resolve_ref,
)
from clawgate.routing._health import Blocked, Health
from clawgate.routing._policy import TABLE, Rule, rule_for
from clawgate.routing._profiles import NOT_MODELS, VaultProfiles
from clawgate.routing._router import (
    Answered,
    Budget,
    Restart,
    RouteEvent,
    RouteFailed,
    Router,
    Streaming,
)

__all__ = [
    "NOT_MODELS",
    "TABLE",
    "Answered",
    "Blocked",
    "Budget",
    "Candidate",
    "Health",
    "Plan",
    "ProfileInfo",
    "ProfileSource",
    "Restart",
    "RouteEvent",
    "RouteFailed",
    "Router",
    "RoutingError",
    "Rule",
    "Skip",
    "Streaming",
    "VaultProfiles",
    "context_tokens",
    "plan",
    "resolve_ref",
    "rule_for",
]

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
from clawgate.routing._embed import (
    EmbeddingPlan,
    EmbeddingResult,
    EmbeddingRouter,
    EmbeddingsUnconfigured,
    embedding_plan,
)
from clawgate.routing._events import Answering, Restart, TurnEvent, TurnResult
from clawgate.routing._health import Blocked, Health, mark_json, mark_state, matches, named_refs
from clawgate.routing._policy import TABLE, Rule, rule_for
from clawgate.routing._pools import PooledProfiles, Pools
from clawgate.routing._profiles import VaultProfiles
from clawgate.routing._refs import MAX_REF, requested_ref
from clawgate.routing._router import Budget, RouteFailed, Router

__all__ = [
    "MAX_REF",
    "TABLE",
    "Answering",
    "Blocked",
    "Budget",
    "Candidate",
    "EmbeddingPlan",
    "EmbeddingResult",
    "EmbeddingRouter",
    "EmbeddingsUnconfigured",
    "Health",
    "Plan",
    "PooledProfiles",
    "Pools",
    "ProfileInfo",
    "ProfileSource",
    "Restart",
    "RouteFailed",
    "Router",
    "RoutingError",
    "Rule",
    "Skip",
    "TurnEvent",
    "TurnResult",
    "VaultProfiles",
    "context_tokens",
    "embedding_plan",
    "mark_json",
    "mark_state",
    "matches",
    "named_refs",
    "plan",
    "requested_ref",
    "resolve_ref",
    "rule_for",
]

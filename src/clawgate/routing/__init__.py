"""Routing: which (model, profile) candidates a turn tries, in which order, what each failure
does, what health remembers, and the record of every decision (ROUTING.md).

Each name is imported from its module when first asked for (PEP 562): planning a chain
(`models status`) does not load the router, the embeddings router or the credential broker
they drive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawgate.lazy import lazy_exports

if TYPE_CHECKING:
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

_WHERE = {
    "Candidate": "_chain",
    "Plan": "_chain",
    "ProfileInfo": "_chain",
    "ProfileSource": "_chain",
    "RoutingError": "_chain",
    "Skip": "_chain",
    "context_tokens": "_chain",
    "plan": "_chain",
    "resolve_ref": "_chain",
    "EmbeddingPlan": "_embed",
    "EmbeddingResult": "_embed",
    "EmbeddingRouter": "_embed",
    "EmbeddingsUnconfigured": "_embed",
    "embedding_plan": "_embed",
    "Answering": "_events",
    "Restart": "_events",
    "TurnEvent": "_events",
    "TurnResult": "_events",
    "Blocked": "_health",
    "Health": "_health",
    "mark_json": "_health",
    "mark_state": "_health",
    "matches": "_health",
    "named_refs": "_health",
    "TABLE": "_policy",
    "Rule": "_policy",
    "rule_for": "_policy",
    "PooledProfiles": "_pools",
    "Pools": "_pools",
    "VaultProfiles": "_profiles",
    "MAX_REF": "_refs",
    "requested_ref": "_refs",
    "Budget": "_router",
    "RouteFailed": "_router",
    "Router": "_router",
}

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


__getattr__ = lazy_exports(__name__, _WHERE)

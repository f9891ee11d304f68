"""Routing: which (model, profile) candidates a turn tries, and in which order."""

from clawgate.routing._chain import Candidate, RoutingError, plan, resolve_ref

__all__ = ["Candidate", "RoutingError", "plan", "resolve_ref"]

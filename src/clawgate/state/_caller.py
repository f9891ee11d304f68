"""Which client key the work in hand is for: set by the gateway for the request it serves
(`gateway._guard`), read by the records made meanwhile (`TurnRecord`, `UsageRecord`), so a
turn is charged to its key however deep in the runtime it is recorded. A context variable,
not an argument, so no channel or layer between has to carry it: each request's task (and
the tasks it starts, such as a streamed answer's) has its own value; None outside a request
made with a client key."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["CLIENT_KEY"]

CLIENT_KEY: ContextVar[str | None] = ContextVar("clawgate_client_key", default=None)

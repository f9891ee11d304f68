"""The gateway's last word on a request that went wrong, in front of every route (`_app`).

- A client that goes away (starlette's ``ClientDisconnect``, while its body is read or its
  answer sent) is not an error: it is logged at DEBUG, and nothing is answered, since no one
  is there to read it.
- Any other exception that gets here is clawgate's own fault. It is logged once, at ERROR
  with its traceback and a request id, and answered 500 in the shape of the path's surface
  (OpenAI's error object, or Anthropic's on the Messages API's paths) carrying the same id,
  also as the ``x-clawgate-request-id`` header, so a report can be matched to the log. If
  the answer had already started, the connection is cut instead: all HTTP/1.1 can say in the
  middle of a body.
- The state store away (`StoreUnavailable`: PostgreSQL down or unreachable) is not a bug: a
  503 naming the state store, with ``Retry-After``, logged as one line without a traceback
  (docs/architecture.md, "State backends").

Nothing is re-raised, so the server does not log the same traceback a second time.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.gateway._surface import surface_error
from clawgate.service import REQUEST_ID
from clawgate.state import StoreUnavailable

__all__ = ["REQUEST_ID_HEADER", "STORE_RETRY_AFTER", "Boundary", "store_unavailable"]

REQUEST_ID_HEADER = "x-clawgate-request-id"
STORE_RETRY_AFTER = 5  # seconds: the pool reconnects by itself meanwhile

log = logging.getLogger("clawgate.gateway")


class Boundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        request_id = uuid.uuid4().hex  # on every log line of this request (`service._logs`)
        REQUEST_ID.set(request_id)  # the ASGI server runs each request in a context of its own

        async def watched(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            await send(message)
            if message["type"] == "http.response.start":
                started = True  # only once the server took it: a refused start can be redone

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if _gone(exc):
                log.debug("client went away: %s %r", scope["method"], scope["path"])
                return
            away = _store_away(exc)
            if away is not None:
                log.warning("request %s: %s", request_id, away.message)
                if not started:
                    with contextlib.suppress(Exception):  # the client is gone
                        await store_unavailable(scope["path"], away)(scope, receive, send)
                return
            log.error(
                "internal error, request %s: %s %r%s",  # %r: a path may hold a newline
                request_id,
                scope["method"],
                scope["path"],
                " (answer already started: connection cut)" if started else "",
                exc_info=exc,
            )
            if started:
                return
            try:
                await internal_error(scope["path"], request_id)(scope, receive, send)
            except Exception:  # the server could not send it either: the client is gone
                log.debug("request %s: the 500 could not be sent", request_id)


def _gone(exc: BaseException) -> bool:
    """A client disconnect, alone or the only thing in a task group's exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_gone(inner) for inner in exc.exceptions)
    return isinstance(exc, ClientDisconnect)


def _store_away(exc: BaseException) -> StoreUnavailable | None:
    """The state store's failure, alone or inside a task group's exception group."""
    if isinstance(exc, BaseExceptionGroup):
        found = [_store_away(inner) for inner in exc.exceptions]
        return next((f for f in found if f is not None), None)
    return exc if isinstance(exc, StoreUnavailable) else None


def store_unavailable(path: str, exc: StoreUnavailable) -> JSONResponse:
    """The 503 for a request the state store's absence stopped, in its surface's shape."""
    message = f"{exc.message} (fix: {exc.fix})" if exc.fix else exc.message
    return surface_error(
        path, 503, message, code=exc.code, **{"Retry-After": str(STORE_RETRY_AFTER)}
    )


def internal_error(path: str, request_id: str) -> JSONResponse:
    """The 500 for a request clawgate failed, in its surface's shape."""
    message = (
        f"clawgate failed on this request (request id {request_id}); the gateway's log has "
        "the details under that id"
    )
    return surface_error(
        path, 500, message, code="internal_error", **{REQUEST_ID_HEADER: request_id}
    )

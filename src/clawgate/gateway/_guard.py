"""One check of the gateway's token for every route: a request to any registered route but
``/healthz`` carries it, as ``Authorization: Bearer <token>`` (OpenAI clients) or
``x-api-key: <token>`` (Anthropic clients), compared in constant time. Because the check sits
in front of the router, a route added later is guarded without saying so; a path no route
knows still gets its 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.gateway._http import error_response
from clawgate.secret import Secret
from clawgate.service import matches

__all__ = ["OPEN_PATHS", "TokenGuard"]

OPEN_PATHS = frozenset({"/healthz"})


class TokenGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or not _routed(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token: Secret = scope["app"].state.gateway.token
        if _carries(request, token):
            await self.app(scope, receive, send)
            return
        refusal = error_response(
            401,
            "missing or wrong token (send it as a Bearer token or in x-api-key; "
            "see: clawgate gateway token)",
            code="unauthorized",
            **{"www-authenticate": "Bearer"},
        )
        await refusal(scope, receive, send)


def _routed(scope: Scope) -> bool:
    """Whether a registered route knows this path (with any method)."""
    return any(route.matches(scope)[0] is not Match.NONE for route in scope["app"].routes)


def _carries(request: Request, token: Secret) -> bool:
    if matches(request.headers.get("authorization"), token):
        return True
    key = request.headers.get("x-api-key")
    return key is not None and matches(f"Bearer {key}", token)

"""One check of the gateway's token for every route: a request to any registered route but
``/healthz`` carries it, as ``Authorization: Bearer <token>`` (OpenAI clients) or
``x-api-key: <token>`` (Anthropic clients), compared in constant time. Because the check sits
in front of the router, a route added later is guarded without saying so; a path no route
knows still gets its 404. The refusal is a 401 in the shape of the path's surface: OpenAI's
error object, or Anthropic's (``authentication_error``) on the Messages API's paths.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.gateway import _anthropic_shapes as anthropic
from clawgate.gateway._http import error_response
from clawgate.secret import Secret
from clawgate.service import matches

__all__ = ["OPEN_PATHS", "TokenGuard"]

# The Telegram webhook carries Telegram's secret header instead (`_telegram_webhook`).
OPEN_PATHS = frozenset({"/healthz", "/channels/telegram/webhook"})


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
        await _refusal(scope["path"])(scope, receive, send)


def _refusal(path: str) -> Response:
    """The refusal in the shape of the surface the path belongs to."""
    if path.startswith(anthropic.PATH_PREFIX):
        return anthropic.unauthorized()
    return error_response(
        401,
        "missing or wrong token (send it as a Bearer token or in x-api-key; "
        "see: clawgate gateway token)",
        code="unauthorized",
        **{"www-authenticate": "Bearer"},
    )


def _routed(scope: Scope) -> bool:
    """Whether a registered route knows this path (with any method)."""
    return any(route.matches(scope)[0] is not Match.NONE for route in scope["app"].routes)


def _carries(request: Request, token: Secret) -> bool:
    if matches(request.headers.get("authorization"), token):
        return True
    key = request.headers.get("x-api-key")
    return key is not None and matches(f"Bearer {key}", token)

"""One check of who is calling, for every route: a request to any registered route but
``/healthz`` carries the gateway's token or a client key (`_keys`), as
``Authorization: Bearer <token>`` (OpenAI clients) or ``x-api-key: <token>`` (Anthropic
clients), compared in constant time. Because the check sits in front of the router, a route
added later is guarded without saying so; a path no route knows still gets its 404.

The gateway's token is the admin key: it may call everything. A client key may call the API
(``/v1/…``) only, within its limits: its models and chains (a 403 from `check_scope`, when
the request's body names them), its requests a minute and tokens a day (a 429 with
``Retry-After``). Every refusal names the limit and is in the shape of the path's surface:
OpenAI's error object, or Anthropic's on the Messages API's paths.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.gateway import _anthropic_shapes as anthropic
from clawgate.gateway._http import error_response
from clawgate.gateway._keys import CURRENT, ClientKeys, Limited, OutOfScope
from clawgate.gateway._openai import error_body
from clawgate.secret import Secret
from clawgate.service import KEY_PREFIX, matches
from clawgate.state import CLIENT_KEY

__all__ = ["API_PREFIX", "OPEN_PATHS", "UI_PREFIX", "TokenGuard", "client_keys", "out_of_scope"]

# The Telegram webhook carries Telegram's secret header instead (`_telegram_webhook`).
OPEN_PATHS = frozenset({"/healthz", "/channels/telegram/webhook"})
API_PREFIX = "/v1/"  # what a client key may call; the rest (control) needs the token
# The dashboard (`gateway.ui`) asks for its own cookie session, opened with the token.
UI_PREFIX = "/ui"


class TokenGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or _dashboard(scope["path"])
            or not _routed(scope)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token: Secret = scope["app"].state.gateway.token
        if _carries(request, token):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        presented = _presented(request)
        keys = client_keys(scope["app"])
        key = keys.find(presented) if presented and presented.startswith(KEY_PREFIX) else None
        if key is None:
            await _refusal(path)(scope, receive, send)
            return
        if key.expired(keys.clock.now()):
            expired = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(key.expires_at))
            message = (
                f"client key {key.name!r} expired on {expired} "
                f"(fix: clawgate gateway keys rotate {key.name})"
            )
            await _answer(path, 401, "authentication_error", message, "key_expired")(
                scope, receive, send
            )
            return
        if not path.startswith(API_PREFIX):
            message = (
                f"client key {key.name!r} may call the API (/v1/...) only; "
                "the control routes need the gateway's token (see: clawgate gateway token)"
            )
            await _answer(path, 403, "permission_error", message, "admin_only")(
                scope, receive, send
            )
            return
        limited = keys.admit(key)
        if limited is not None:
            await _limited(path, limited)(scope, receive, send)
            return
        name, record = CLIENT_KEY.set(key.name), CURRENT.set(key)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(record)
            CLIENT_KEY.reset(name)


def client_keys(app: Starlette) -> ClientKeys:
    """The app's client keys, made on first use (a test may set its own, on its clock)."""
    state = app.state
    keys: ClientKeys | None = getattr(state, "client_keys", None)
    if keys is None:
        gateway = state.gateway
        keys = state.client_keys = ClientKeys(gateway.vault, gateway.state)
    return keys


async def out_of_scope(request: Request, exc: Exception) -> Response:
    """A request for a model or chain its client key may not use (`_keys.check_scope`)."""
    assert isinstance(exc, OutOfScope)
    return _answer(request.url.path, 403, "permission_error", exc.message, "model_not_allowed")


def _limited(path: str, limited: Limited) -> JSONResponse:
    return _answer(
        path,
        429,
        "rate_limit_error",
        limited.message,
        f"{limited.limit}_exceeded",
        **{"retry-after": str(limited.retry_after), "x-clawgate-limit": limited.limit},
    )


def _answer(
    path: str, status: int, anthropic_type: str, message: str, code: str, **headers: str
) -> JSONResponse:
    if path.startswith(anthropic.PATH_PREFIX):
        return anthropic.error_response(anthropic_type, message, status=status, **headers)
    if status == 429:  # OpenAI's rate limit errors are typed by what ran out
        type_ = "tokens" if code.startswith("tokens") else "requests"
        return JSONResponse(error_body(message, code=code, type_=type_), 429, headers=headers)
    return error_response(status, message, code=code, **headers)


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


def _dashboard(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def _routed(scope: Scope) -> bool:
    """Whether a registered route knows this path (with any method)."""
    return any(route.matches(scope)[0] is not Match.NONE for route in scope["app"].routes)


def _carries(request: Request, token: Secret) -> bool:
    if matches(request.headers.get("authorization"), token):
        return True
    key = request.headers.get("x-api-key")
    return key is not None and matches(f"Bearer {key}", token)


def _presented(request: Request) -> str | None:
    """The key a request carries, as a Bearer token or in x-api-key."""
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return given.strip()
    return request.headers.get("x-api-key")

"""The gateway's HTTP app (Starlette): ``/healthz``, the OpenAI-compatible ``/v1`` surface
(`_openai_routes`) and the control API (`_control`), behind one token check (`_guard`).
Every error, a missing route included, is in its surface's shape (`_surface`); clawgate's own
failures are a 500 with a request id, and a client that goes away is no error (`_boundary`).

The config is checked before every request and reloaded when it changed (`Gateway.refresh`);
a turn holds its runtime until it is answered, so a reload never cuts one short.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway import (
    _anthropic_routes,
    _control,
    _control_usage,
    _embeddings_routes,
    _metrics,
    _openai_routes,
    _responses_routes,
    _telegram_webhook,
    ui,
)
from clawgate.gateway._boundary import STORE_RETRY_AFTER, Boundary
from clawgate.gateway._disconnect import HangUp
from clawgate.gateway._guard import TokenGuard, out_of_scope
from clawgate.gateway._hosts import HostGuard
from clawgate.gateway._http import MAX_BODY
from clawgate.gateway._keys import OutOfScope
from clawgate.gateway._state import Gateway
from clawgate.gateway._surface import surface_error
from clawgate.state import StoreUnavailable

__all__ = ["MAX_BODY", "Gateway", "create_app"]

_SHOWN = 200  # characters of a path an error repeats


async def healthz(request: Request) -> Response:
    # Open to anyone (a load balancer's check): the store's backend and state, not where it is.
    store = request.app.state.gateway.store_status()
    if store["ok"]:
        return JSONResponse({"ok": True})
    away = {"backend": store["backend"], "ok": False, "error": StoreUnavailable.code}
    headers = {"Retry-After": str(STORE_RETRY_AFTER)}
    return JSONResponse({"ok": False, "stateStore": away}, 503, headers=headers)


def create_app(gateway: Gateway) -> Starlette:
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            *_openai_routes.ROUTES,
            *_responses_routes.ROUTES,
            *_anthropic_routes.ROUTES,
            *_embeddings_routes.ROUTES,
            *_control.ROUTES,
            *_control_usage.ROUTES,
            *_metrics.ROUTES,  # the admin token's, as every route outside /v1/
            *_telegram_webhook.ROUTES,  # Telegram's own secret header, not the token
            *ui.ROUTES,  # the dashboard: its own cookie session, opened with the token
        ],
        # Outermost: a failure anywhere inside, the token check's included, is answered.
        # Then: Host and Origin (`_hosts`: DNS rebinding, CORS), before anything is served.
        # Then: a client that hangs up before its answer cancels its request (`_disconnect`).
        middleware=[
            Middleware(Boundary),
            Middleware(HostGuard),
            Middleware(HangUp),
            Middleware(TokenGuard),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed, OutOfScope: out_of_scope},
    )
    # A path that differs by a slash is a 404, never a redirect: API clients do not follow
    # one, and Starlette's would name a host the Host check refuses.
    app.router.redirect_slashes = False
    app.state.gateway = gateway
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    path = request.url.path
    return surface_error(path, 404, f"no route {path[:_SHOWN]}", code="not_found")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    path = request.url.path
    message = f"{request.method} is not allowed on {path[:_SHOWN]}"
    return surface_error(path, 405, message, code=None)

"""The gateway's HTTP app (Starlette): ``/healthz``, the OpenAI-compatible ``/v1`` surface
(`_openai_routes`) and the control API (`_control`), behind one token check (`_guard`).
Every error, a missing route included, is an OpenAI-shaped body.

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
    _embeddings_routes,
    _openai_routes,
    _responses_routes,
)
from clawgate.gateway._guard import TokenGuard
from clawgate.gateway._http import MAX_BODY, error_response
from clawgate.gateway._state import Gateway

__all__ = ["MAX_BODY", "Gateway", "create_app"]


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(gateway: Gateway) -> Starlette:
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            *_openai_routes.ROUTES,
            *_responses_routes.ROUTES,
            *_anthropic_routes.ROUTES,
            *_embeddings_routes.ROUTES,
            *_control.ROUTES,
        ],
        middleware=[Middleware(TokenGuard)],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.state.gateway = gateway
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, f"no route {request.url.path}", code="not_found")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(405, f"{request.method} is not allowed on {request.url.path}", code=None)

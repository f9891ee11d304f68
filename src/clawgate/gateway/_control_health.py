"""``POST /control/health/reset``: `clawgate models health reset` run in the gateway, so the
marks its turns consult are the ones cleared (they are also removed from ``state.db``).

Query parameters are checked strictly, like the other control routes: only ``profile`` and
``model``, each at most once, a profile id and a model ref (an alias is resolved); none
clears every mark."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clawgate.gateway._http import error_response
from clawgate.gateway._openai import RequestError
from clawgate.gateway._state import Gateway
from clawgate.names import BadName, check_profile_id, shown
from clawgate.routing import RoutingError, mark_json, resolve_ref

__all__ = ["reset_health"]

_PARAMS = ("profile", "model")


def _names(request: Request, gateway: Gateway) -> tuple[str | None, str | None]:
    query = request.query_params
    for key in query:
        if key not in _PARAMS:
            raise RequestError(
                f"unknown query parameter {shown(key)}: reset takes profile and model", param=key
            )
    found: dict[str, str | None] = {}
    for key in _PARAMS:
        values = query.getlist(key)
        if len(values) > 1:
            raise RequestError(f"{key} is given {len(values)} times: give it once", param=key)
        found[key] = values[0] if values else None
    profile, model = found["profile"], found["model"]
    if profile is not None:
        try:
            check_profile_id(profile)
        except BadName as exc:
            raise RequestError(exc.message, param="profile") from None
    if model is not None:
        try:
            provider, name = resolve_ref(model, gateway.config.settings)
        except RoutingError as exc:
            raise RequestError(exc.message, param="model") from None
        model = f"{provider}/{name}"
    return profile, model


async def reset_health(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        profile, model = _names(request, gateway)
    except RequestError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    health = gateway.runtime.health
    now = health.clock.now()
    cleared = health.reset(profile=profile, model=model)
    return JSONResponse({"cleared": [mark_json(m, now) for m in cleared]})

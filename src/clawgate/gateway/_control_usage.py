"""``GET /control/usage``: `clawgate usage` answered by the gateway, from its ``state.db``
(`state.usage_report`): requests, tokens, failures, fallbacks and an estimated cost of
metered turns, grouped by client key, profile, model or day.

Query parameters are checked strictly, like the other control routes: only ``since`` (a span
back from now: ``30m``, ``24h``, ``7d``, ``2w``; default ``7d``) and ``by`` (``key``,
``profile``, ``model``, ``day``; default ``model``), each at most once."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway._http import error_response
from clawgate.gateway._openai import RequestError
from clawgate.gateway._state import Gateway
from clawgate.names import shown
from clawgate.state import GROUPINGS, Grouping, parse_since, prices_from

__all__ = ["DEFAULT_BY", "DEFAULT_SINCE", "ROUTES", "usage"]

DEFAULT_SINCE = "7d"
DEFAULT_BY: Grouping = "model"
_PARAMS = ("since", "by")


def _asked(request: Request, now: float) -> tuple[float, Grouping]:
    query = request.query_params
    for key in query:
        if key not in _PARAMS:
            raise RequestError(
                f"unknown query parameter {shown(key)}: usage takes since and by", param=key
            )
    for key in _PARAMS:
        if len(query.getlist(key)) > 1:
            raise RequestError(f"{key} is given more than once: give it once", param=key)
    try:
        since = parse_since(query.get("since", DEFAULT_SINCE), now)
    except ValueError as exc:
        raise RequestError(str(exc), param="since") from None
    by = query.get("by", DEFAULT_BY)
    if by not in GROUPINGS:
        raise RequestError(f"by is {shown(by)}: use one of {', '.join(GROUPINGS)}", param="by")
    return since, by


async def usage(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    runtime = gateway.runtime
    try:
        since, by = _asked(request, runtime.clock.now())
    except RequestError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    prices = prices_from(gateway.config.settings)
    return JSONResponse(gateway.state.usage_report(since, by, prices).to_json())


ROUTES = [Route("/control/usage", usage)]

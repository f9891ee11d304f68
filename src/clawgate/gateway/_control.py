"""The control API the CLI talks to: ``/control/status``, ``/control/reload``,
``/control/decisions``, ``/control/probe`` and ``/control/health/reset`` (ARCHITECTURE.md,
"The one path rule").
Endpoints find the gateway on ``request.app.state``; `_guard` has checked the token.
Query parameters are checked like bodies: a bad one is a 400 naming it."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway._control_health import reset_health
from clawgate.gateway._http import error_response, read_json
from clawgate.gateway._openai import RequestError, validate
from clawgate.gateway._state import Gateway
from clawgate.names import shown
from clawgate.runtime import probe, probe_targets

__all__ = ["DEFAULT_LAST", "MAX_LAST", "ROUTES", "ProbeRequest", "parse_last"]

DEFAULT_LAST = 10  # turns `/control/decisions` returns when ``last`` is not given
MAX_LAST = 1_000  # turns one answer may hold


class ProbeRequest(BaseModel):
    """The body of ``POST /control/probe``: which profiles, and how long each may take."""

    model_config = ConfigDict(extra="forbid")
    provider: str | None = None
    profile: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    concurrency: int = Field(default=4, ge=1, le=32)


def _probe_request(body: object) -> ProbeRequest:
    if not isinstance(body, dict):
        raise RequestError(
            f"bad probe request: the body is a JSON object (or empty), not {_kind(body)}"
        )
    return validate(ProbeRequest, body, what="bad probe request: ")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def parse_last(raw: str | None) -> int:
    """``?last=N``: a count of turns from 1 to `MAX_LAST`; `DEFAULT_LAST` when not given.
    `RequestError` (``param`` last) for anything else."""
    if raw is None:
        return DEFAULT_LAST
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_LAST)):
        count = int(raw)
        if 1 <= count <= MAX_LAST:
            return count
    raise RequestError(
        f"last is {shown(raw)}: it is a count of turns, a whole number from 1 to {MAX_LAST}",
        param="last",
    )


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def status(request: Request) -> Response:
    gateway = _gateway(request)
    await gateway.refresh()
    return JSONResponse(gateway.status())


async def reload(request: Request) -> Response:
    gateway = _gateway(request)
    ok = await gateway.refresh(force=True)
    gateway.reloaded()
    body = {"ok": ok, "generation": gateway.generation, "error": gateway.reload_error}
    return JSONResponse(body, 200 if ok else 409)


async def run_probe(request: Request) -> Response:
    """`models status --probe`, run here: on the broker and providers that serve turns."""
    try:
        asked = _probe_request(await read_json(request, empty={}))
    except RequestError as exc:
        status = 413 if exc.code == "request_too_large" else 400
        return error_response(status, exc.message, code=exc.code, param=exc.param)
    async with await _gateway(request).lease() as runtime:
        targets = probe_targets(runtime, provider=asked.provider, profile=asked.profile)
        results = await probe(
            runtime,
            targets,
            seconds=asked.timeout,
            concurrency=asked.concurrency,
            ran_in="gateway",
        )
    return JSONResponse({"probes": [r.to_json() for r in results]})


async def decisions(request: Request) -> Response:
    try:
        last = parse_last(request.query_params.get("last"))
    except RequestError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    turns = _gateway(request).state.decisions.last(last)
    return JSONResponse([asdict(t) for t in turns])


ROUTES = [
    Route("/control/status", status),
    Route("/control/reload", reload, methods=["POST"]),
    Route("/control/decisions", decisions),
    Route("/control/probe", run_probe, methods=["POST"]),
    Route("/control/health/reset", reset_health, methods=["POST"]),
]

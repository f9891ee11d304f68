"""What every route shares: the bearer check, the bounded JSON body, OpenAI-shaped error
responses, and the facts of who answered a turn (headers and body)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clawgate.gateway._openai import RequestError, error_body, status_for
from clawgate.gateway._token import matches
from clawgate.runtime import TurnFailed
from clawgate.secret import Secret

__all__ = [
    "MAX_BODY",
    "answer_facts",
    "answer_headers",
    "error_response",
    "failed_response",
    "read_json",
    "refused",
]

MAX_BODY = 1 << 20  # bytes of a request body


def error_response(status: int, message: str, *, code: str | None, **headers: str) -> JSONResponse:
    type_ = "invalid_request_error" if status < 500 else "api_error"
    if status == 401:
        type_ = "authentication_error"
    return JSONResponse(error_body(message, code=code, type_=type_), status, headers=headers)


def refused(request: Request, token: Secret) -> Response | None:
    """A 401 unless the request carries the gateway's bearer token."""
    if matches(request.headers.get("authorization"), token):
        return None
    return error_response(
        401,
        "missing or wrong bearer token (see: clawgate gateway token)",
        code="unauthorized",
        **{"www-authenticate": "Bearer"},
    )


async def read_json(request: Request, *, empty: object = None) -> object:
    """The body as JSON, at most `MAX_BODY` bytes; ``empty`` stands for a blank body when
    given. `RequestError` (code ``request_too_large`` when over the limit) otherwise."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestError(f"the body is over {MAX_BODY} bytes", code="request_too_large")
    raw = b""
    async for part in request.stream():
        raw += part
        if len(raw) > MAX_BODY:
            raise RequestError(f"the body is over {MAX_BODY} bytes", code="request_too_large")
    if not raw.strip() and empty is not None:
        return empty
    try:
        return json.loads(raw)
    except ValueError:
        raise RequestError("the body is not valid JSON") from None


def failed_response(exc: TurnFailed) -> Response:
    message = exc.message if not exc.fix else f"{exc.message} (fix: {exc.fix})"
    return error_response(
        status_for(exc.failure.kind),
        message,
        code=exc.code,
        **{"x-clawgate-turn": exc.turn_id},
    )


def answer_headers(turn_id: str, model: str, profile: str, fallback: bool) -> dict[str, str]:
    return {
        "x-clawgate-turn": turn_id,
        "x-clawgate-model": model,
        "x-clawgate-profile": profile,
        "x-clawgate-fallback": "true" if fallback else "false",
    }


def answer_facts(turn_id: str, model: str, profile: str, fallback: bool) -> dict[str, Any]:
    return {"turn": turn_id, "model": model, "profile": profile, "fallback": fallback}

"""What every route shares: the bearer check, the bounded JSON body, OpenAI-shaped error
responses, and the facts of who answered a turn (headers and body)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clawgate.config import MAX_BODY_BYTES
from clawgate.gateway._openai import RequestError, error_body, status_for
from clawgate.runtime import Answering, TurnFailed, TurnResult

__all__ = [
    "MAX_BODY",
    "answer_facts",
    "answer_headers",
    "error_response",
    "failed_response",
    "read_json",
]

MAX_BODY = MAX_BODY_BYTES  # bytes of a request body, unless gateway.maxBodyBytes says


def error_response(
    status: int, message: str, *, code: str | None, param: str | None = None, **headers: str
) -> JSONResponse:
    type_ = "invalid_request_error" if status < 500 else "api_error"
    if status == 401:
        type_ = "authentication_error"
    body = error_body(message, code=code, type_=type_, param=param)
    return JSONResponse(body, status, headers=headers)


async def read_json(request: Request, *, empty: object = None, limit: int = MAX_BODY) -> object:
    """The body as JSON, at most ``limit`` bytes; ``empty`` stands for a blank body when
    given. `RequestError` (code ``request_too_large`` when over the limit) otherwise."""
    declared = request.headers.get("content-length")
    too_large = RequestError(
        f"the body is over {limit} bytes (raise gateway.maxBodyBytes to allow more)",
        code="request_too_large",
    )
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for part in request.stream():
        chunks.append(part)
        size += len(part)
        if size > limit:
            raise too_large
    raw = b"".join(chunks)
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


def answer_headers(who: Answering | TurnResult) -> dict[str, str]:
    """Who answered, as headers; and which request options that model's wire left out."""
    headers = {
        "x-clawgate-turn": who.turn_id,
        "x-clawgate-model": who.model,
        "x-clawgate-profile": who.profile,
        "x-clawgate-fallback": "true" if who.fallback else "false",
    }
    if who.dropped:
        headers["x-clawgate-dropped-params"] = ", ".join(who.dropped)
    return headers


def answer_facts(who: Answering | TurnResult) -> dict[str, Any]:
    """The same, for the ``clawgate`` object of the body."""
    facts: dict[str, Any] = {
        "turn": who.turn_id,
        "model": who.model,
        "profile": who.profile,
        "fallback": who.fallback,
    }
    if who.dropped:
        facts["dropped"] = list(who.dropped)
    return facts

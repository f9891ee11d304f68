"""The Anthropic wire shapes of the gateway's Messages API: the message it answers with, its
usage and stop reason, and errors (https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/api/errors).

An error is ``{"type": "error", "error": {"type", "message"}}`` with Anthropic's status for
its type. A failed turn's class decides both: the request itself (bad request, context
overflow, content filter) is 400 ``invalid_request_error``; no such model 404
``not_found_error``; a rate limit or used-up quota 429 ``rate_limit_error`` (with
``retry-after`` when the upstream said); an overloaded upstream 529 ``overloaded_error``.
Everything else failed behind the gateway and is ``api_error``: 503 when no model could be
reached with a working credential (the upstream's credentials are not the caller's, so never
a 401), 504 for a deadline, 502 otherwise.

Usage: Anthropic's ``input_tokens`` leaves out the prompt-cache reads, which are
``cache_read_input_tokens`` (cache writes are not told apart here and stay in
``input_tokens``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.responses import JSONResponse

from clawgate.failures import FailureClass as F
from clawgate.gateway._http import answer_facts, answer_headers, header_value
from clawgate.gateway._openai import RequestError
from clawgate.providers import ToolCall, Usage
from clawgate.runtime import Answering, TurnFailed, TurnResult

__all__ = [
    "PATH_PREFIX",
    "described",
    "error_body",
    "error_response",
    "facts",
    "failure_error",
    "headers",
    "message",
    "message_id",
    "refused",
    "stop_reason",
    "tool_input",
    "turn_failed",
    "unauthorized",
    "usage",
]

# The paths whose every answer, the token guard's refusal included, is Anthropic-shaped.
PATH_PREFIX = "/v1/messages"

_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}

_BY_FAILURE: dict[F, tuple[int, str]] = {
    F.BAD_REQUEST: (400, "invalid_request_error"),
    F.CONTEXT_OVERFLOW: (400, "invalid_request_error"),
    F.CONTENT_FILTER: (400, "invalid_request_error"),
    F.MODEL_NOT_FOUND: (404, "not_found_error"),
    F.RATE_LIMIT: (429, "rate_limit_error"),
    F.QUOTA: (429, "rate_limit_error"),
    F.OVERLOADED: (529, "overloaded_error"),
    F.AUTH_DEAD: (503, "api_error"),
    F.AUTH_TRANSIENT: (503, "api_error"),
    F.ENTITLEMENT: (503, "api_error"),
    F.BILLING: (503, "api_error"),
    F.UNAVAILABLE: (503, "api_error"),
    F.TIMEOUT: (504, "api_error"),
}

# The conversation model's finish reasons (every wire's) → Anthropic's stop reasons.
_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_ANTHROPIC_STOPS = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
)


def error_body(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def error_response(
    type_: str, message: str, *, status: int | None = None, **extra: str
) -> JSONResponse:
    return JSONResponse(error_body(type_, message), status or _STATUS.get(type_, 500), extra)


def unauthorized() -> JSONResponse:
    """The token guard's refusal on these paths."""
    return error_response(
        "authentication_error",
        "missing or wrong token (send the gateway's token in x-api-key, or as a Bearer "
        "token; see: clawgate gateway token)",
    )


def refused(exc: RequestError) -> JSONResponse:
    """A request read as unfit before any model was asked."""
    if exc.code == "request_too_large":
        return error_response("request_too_large", exc.message)
    if exc.code == "model_not_found":
        return error_response("not_found_error", exc.message)
    return error_response("invalid_request_error", exc.message)


def failure_error(kind: F) -> tuple[int, str]:
    """A failure class as (status, Anthropic error type)."""
    return _BY_FAILURE.get(kind, (502, "api_error"))


def turn_failed(exc: TurnFailed) -> JSONResponse:
    """A turn that failed before any content: an ordinary error answer."""
    status, type_ = failure_error(exc.failure.kind)
    more = {"x-clawgate-turn": exc.turn_id}
    if status == 429 and exc.failure.retry_after is not None:
        more["retry-after"] = str(max(1, round(exc.failure.retry_after)))
    return error_response(type_, described(exc), status=status, **more)


def described(exc: TurnFailed) -> str:
    return exc.message if not exc.fix else f"{exc.message} (fix: {exc.fix})"


def message_id(turn_id: str) -> str:
    return f"msg_{turn_id}"


def stop_reason(finish_reason: str) -> str:
    if finish_reason in _ANTHROPIC_STOPS:
        return finish_reason
    return _STOP.get(finish_reason, "end_turn")


def usage(used: Usage | None) -> dict[str, int]:
    if used is None:
        return {"input_tokens": 0, "output_tokens": 0}
    body = {
        "input_tokens": max(0, used.input_tokens - (used.cached_tokens or 0)),
        "output_tokens": used.output_tokens,
    }
    if used.cached_tokens is not None:
        body["cache_read_input_tokens"] = used.cached_tokens
    return body


def tool_input(arguments: str) -> object:
    """A call's arguments as the ``input`` object; ``{}`` when there are none. Text that is
    not JSON is kept as the string it is, never lost."""
    if not arguments.strip():
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _content(text: str, calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": tool_input(c.arguments)}
        for c in calls
    ]
    return blocks


def headers(who: Answering | TurnResult, dropped: tuple[str, ...]) -> dict[str, str]:
    """Who answered, as `answer_headers` says it, with the fields dropped here named too."""
    said = answer_headers(who)
    lost = (*dropped, *who.dropped)
    if lost:
        said["x-clawgate-dropped-params"] = header_value(", ".join(lost))
    return said


def facts(who: Answering | TurnResult, dropped: tuple[str, ...]) -> dict[str, Any]:
    said = answer_facts(who)
    lost = (*dropped, *who.dropped)
    if lost:
        said["dropped"] = list(lost)
    return said


def message(result: TurnResult, dropped: tuple[str, ...]) -> dict[str, Any]:
    """The whole answer, not streamed."""
    return {
        "id": message_id(result.turn_id),
        "type": "message",
        "role": "assistant",
        "model": result.model,
        "content": _content(result.text, result.tool_calls),
        "stop_reason": stop_reason(result.finish_reason),
        "stop_sequence": None,
        "usage": usage(result.usage),
        "clawgate": facts(result, dropped),
    }

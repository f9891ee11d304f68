"""The OpenAI wire shapes of the gateway's API: the completion, chunk and error bodies it
answers with, and how a bad body is reported (docs/configuration.md, "The gateway's
OpenAI-compatible API"). The request's own shape is `_chat_request`."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from clawgate.failures import FailureClass as F
from clawgate.providers import ToolCall, ToolCallDelta, Usage

__all__ = [
    "DEFAULT_MODELS",
    "RequestError",
    "chunk",
    "completion",
    "error_body",
    "status_for",
    "tool_call_delta",
    "tool_calls",
    "validate",
]

# `model` values that mean "the configured default chain".
DEFAULT_MODELS = frozenset({"clawgate", "default"})


Body = TypeVar("Body", bound=BaseModel)


class RequestError(Exception):
    """A request the API refuses with 400 and an OpenAI-shaped error."""

    def __init__(self, message: str, *, param: str | None = None, code: str = "bad_request"):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def validate(model: type[Body], document: object, *, what: str = "") -> Body:
    """``document`` as ``model``, or `RequestError` naming every problem and where it is
    (``param`` is the first one's place, as in OpenAI's errors)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        places = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        problems = [
            f"unknown field {where!r}"
            if e["type"] == "extra_forbidden"
            else f"{where or 'body'}: {e['msg']}"
            for where, e in zip(places, exc.errors(), strict=True)
        ]
        raise RequestError(what + "; ".join(problems), param=places[0] or None) from None


def error_body(
    message: str,
    *,
    code: str | None,
    type_: str = "invalid_request_error",
    param: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


_STATUS = {
    F.BAD_REQUEST: 400,
    F.CONTEXT_OVERFLOW: 400,
    F.CONTENT_FILTER: 400,
    F.MODEL_NOT_FOUND: 404,
    F.RATE_LIMIT: 429,
    F.QUOTA: 429,
    F.TIMEOUT: 504,
}


def status_for(failure: F) -> int:
    """The upstream's failure, as this API's status: 4xx where the request itself is the
    problem or a limit was hit, 502/503/504 where the models behind the gateway failed."""
    if failure in _STATUS:
        return _STATUS[failure]
    if failure in (F.AUTH_DEAD, F.AUTH_TRANSIENT, F.ENTITLEMENT, F.BILLING, F.UNAVAILABLE):
        return 503
    return 502


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    body: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    if usage.cached_tokens is not None:
        body["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    if usage.reasoning_tokens is not None:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def completion(
    turn_id: str,
    model: str,
    text: str,
    finish_reason: str,
    usage: Usage | None,
    clawgate: dict[str, Any],
    calls: tuple[ToolCall, ...] = (),
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = tool_calls(calls)
    return {
        "id": f"chatcmpl-{turn_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage(usage),
        "clawgate": clawgate,
    }


def tool_call_delta(event: ToolCallDelta) -> dict[str, Any]:
    """One piece of a streamed tool call, as Chat Completions spells it: the first piece has
    the id, type and name; each piece may add argument text."""
    delta: dict[str, Any] = {"index": event.index}
    if event.id is not None:
        delta["id"] = event.id
        delta["type"] = "function"
    function: dict[str, str] = {"arguments": event.arguments}
    if event.name is not None:
        function["name"] = event.name
    delta["function"] = function
    return delta


def tool_calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in calls
    ]


def chunk(
    turn_id: str,
    model: str,
    *,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    clawgate: dict[str, Any] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"chatcmpl-{turn_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": (
            [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}] if choices else []
        ),
    }
    if usage is not None:
        body["usage"] = _usage(usage)
    if clawgate is not None:
        body["clawgate"] = clawgate
    return body

"""The OpenAI wire shapes of the gateway's API: what a chat completion request may hold, and
the completion, chunk and error bodies it answers with (CONFIG.md, "The gateway's
OpenAI-compatible API")."""

from __future__ import annotations

import time
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clawgate.failures import FailureClass as F
from clawgate.providers import Message, ToolCall, ToolCallDelta, Usage

__all__ = [
    "DEFAULT_MODELS",
    "ChatRequest",
    "RequestError",
    "chunk",
    "completion",
    "error_body",
    "parse_request",
    "status_for",
    "tool_call_delta",
    "tool_calls",
]

# `model` values that mean "the configured default chain".
DEFAULT_MODELS = frozenset({"clawgate", "default"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatMessage(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]
    name: str | None = None


class StreamOptions(_Strict):
    include_usage: bool = False


class ChatRequest(_Strict):
    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    models: list[str] | None = None  # the OpenRouter convention: an explicit ordered chain
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    n: Literal[1] | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None

    def chat_messages(self) -> tuple[Message, ...]:
        out = []
        for m in self.messages:
            text = m.content if isinstance(m.content, str) else _text_parts(m.content)
            out.append(Message("system" if m.role == "developer" else m.role, text))
        return tuple(out)


def _text_parts(parts: list[dict[str, Any]]) -> str:
    texts = []
    for part in parts:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise RequestError("only text content parts are supported", param="messages")
        texts.append(part["text"])
    return "".join(texts)


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


def parse_request(document: object) -> ChatRequest:
    return validate(ChatRequest, document)


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


def _usage(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def completion(
    turn_id: str,
    model: str,
    text: str,
    finish_reason: str,
    usage: Usage | None,
    clawgate: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{turn_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
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

"""Anthropic's Messages API wire format (``POST /v1/messages``).

A streamed answer: ``message_start`` (id, model, input tokens), ``content_block_delta`` events
with ``text_delta``s, ``message_delta`` (stop reason, output tokens), ``message_stop``; ``ping``
keeps the connection alive and an ``error`` event can arrive after the 200
(https://docs.anthropic.com/en/docs/build-with-claude/streaming).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import Completed, StreamEvent, TextDelta, Usage
from clawgate.providers._stream import WireError, count, mapping, text, unfinished

__all__ = ["DEFAULT_MAX_TOKENS", "MessagesStream", "body", "from_json"]

# The API requires max_tokens; this is the cap when the caller gives none.
DEFAULT_MAX_TOKENS = 4096

# stop_reason → the finish reasons every other wire uses
_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}


def body(request: ModelRequest, *, stream: bool) -> dict[str, Any]:
    system = "\n\n".join(m.text for m in request.messages if m.role == "system")
    document: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": [
            {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
        ],
        "stream": stream,
    }
    if system:
        document["system"] = system
    if request.temperature is not None:
        document["temperature"] = request.temperature
    return document


def _finish(stop_reason: str) -> str:
    return _STOP.get(stop_reason, stop_reason)


class MessagesStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.stop_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.counted = False
        self.id: str | None = None

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = mapping(data.get("delta"))
            if delta.get("type") == "text_delta" and (chunk := text(delta.get("text"))):
                yield TextDelta(chunk)
        elif kind == "message_start":
            message = mapping(data.get("message"))
            self.model = text(message.get("model")) or self.model
            self.id = text(message.get("id"))
            self._count(mapping(message.get("usage")))
        elif kind == "message_delta":
            self.stop_reason = text(mapping(data.get("delta")).get("stop_reason"))
            self._count(mapping(data.get("usage")))
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise WireError(data)

    def _count(self, raw: dict[str, Any]) -> None:
        if raw:
            self.counted = True
            self.input_tokens = count(raw.get("input_tokens")) or self.input_tokens
            # message_delta's output_tokens is cumulative: the last one is the total.
            self.output_tokens = count(raw.get("output_tokens")) or self.output_tokens

    def finish(self, request_id: str | None) -> Completed:
        # message_stop is the terminal event; a clean end right after the stop reason is also
        # a complete answer.
        if self.stop_reason is None:
            raise unfinished(self.provider, "a stop reason", request_id)
        used = Usage(self.input_tokens, self.output_tokens) if self.counted else None
        return Completed(_finish(self.stop_reason), self.model, used, request_id or self.id)


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    if document.get("type") == "error":
        raise WireError(document)
    stop_reason = text(document.get("stop_reason"))
    if stop_reason is None:
        raise unfinished(provider, "a stop reason", request_id)
    parts = [
        text(mapping(block).get("text")) or ""
        for block in document.get("content") or ()
        if mapping(block).get("type") == "text"
    ]
    if "".join(parts):
        yield TextDelta("".join(parts))
    raw = mapping(document.get("usage"))
    used = Usage(count(raw.get("input_tokens")), count(raw.get("output_tokens"))) if raw else None
    yield Completed(
        _finish(stop_reason),
        text(document.get("model")) or model,
        used,
        request_id or text(document.get("id")),
    )

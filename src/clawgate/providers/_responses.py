"""The Responses API wire format (``POST …/responses``): OpenAI's API and the ChatGPT
subscription backend (``/backend-api/codex/responses``).

Streamed events are typed: ``response.created``, ``response.output_text.delta`` (the text),
and one terminal event, ``response.completed`` / ``response.incomplete`` (with the reason) /
``response.failed`` (with an error), or a bare ``error`` event.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import Completed, StreamEvent, TextDelta, Usage
from clawgate.providers._stream import WireError, mapping, text, unfinished, usage

__all__ = ["ResponsesStream", "body", "from_json"]

DEFAULT_INSTRUCTIONS = "You are a helpful assistant."

# incomplete_details.reason → the finish reasons every other wire uses
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def body(request: ModelRequest, *, stream: bool, limits: bool = True) -> dict[str, Any]:
    """``limits=False`` leaves out ``max_output_tokens``/``temperature``, which the ChatGPT
    backend refuses."""
    system = "\n\n".join(m.text for m in request.messages if m.role == "system")
    document: dict[str, Any] = {
        "model": request.model,
        "instructions": system or DEFAULT_INSTRUCTIONS,
        "input": [
            {
                "type": "message",
                "role": m.role,
                "content": [
                    {
                        "type": "output_text" if m.role == "assistant" else "input_text",
                        "text": m.content,
                    }
                ],
            }
            for m in request.messages
            if m.role != "system"
        ],
        "stream": stream,
        "store": False,
    }
    if limits and request.max_tokens is not None:
        document["max_output_tokens"] = request.max_tokens
    if limits and request.temperature is not None:
        document["temperature"] = request.temperature
    return document


def _finish(response: dict[str, Any]) -> str:
    if response.get("status") == "incomplete":
        reason = text(mapping(response.get("incomplete_details")).get("reason"))
        return _INCOMPLETE.get(reason or "", reason or "incomplete")
    return "stop"


def _usage(response: dict[str, Any]) -> Usage | None:
    return usage(response.get("usage"), "input_tokens", "output_tokens")


class ResponsesStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.final: dict[str, Any] | None = None

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = data.get("type")
        response = mapping(data.get("response"))
        self.model = text(response.get("model")) or self.model
        if kind == "response.output_text.delta":
            delta = text(data.get("delta"))
            if delta:
                yield TextDelta(delta)
        elif kind in ("response.completed", "response.incomplete"):
            self.final = response
            self.done = True
        elif kind == "response.failed":
            raise WireError(response.get("error") or {})
        elif kind == "error":
            raise WireError(data)

    def finish(self, request_id: str | None) -> Completed:
        if self.final is None:
            raise unfinished(self.provider, "response.completed", request_id)
        request_id = request_id or text(self.final.get("id"))
        return Completed(_finish(self.final), self.model, _usage(self.final), request_id)


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    if document.get("status") == "failed" or document.get("error"):
        raise WireError(document.get("error") or {})
    if document.get("status") not in ("completed", "incomplete"):
        raise unfinished(provider, "a completed status", request_id)
    parts = [
        text(mapping(part).get("text")) or ""
        for item in document.get("output") or ()
        if mapping(item).get("type") == "message"
        for part in mapping(item).get("content") or ()
        if mapping(part).get("type") == "output_text"
    ]
    if "".join(parts):
        yield TextDelta("".join(parts))
    yield Completed(
        _finish(document),
        text(document.get("model")) or model,
        _usage(document),
        request_id or text(document.get("id")),
    )

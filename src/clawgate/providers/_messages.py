"""Anthropic's Messages API wire format (``POST /v1/messages``): the request body is
`_messages_encode`'s; here, the answer back into events.

A streamed answer: ``message_start`` (id, model, input tokens), then content blocks, each a
``content_block_start``, its ``content_block_delta``s and a ``content_block_stop``:
``text`` blocks give ``text_delta``s; ``tool_use`` blocks name the call's id and name at the
start and stream its input JSON as ``input_json_delta`` pieces (``partial_json``);
``thinking`` blocks (``thinking_delta``, ``signature_delta``) are not part of the answer and
are skipped. Then ``message_delta`` (stop reason, output tokens), ``message_stop``. ``ping``
keeps the connection alive and an ``error`` event can arrive after the 200
(https://docs.anthropic.com/en/docs/build-with-claude/streaming).

Tool calls are numbered 0, 1, … in the order their ``tool_use`` blocks open (not by content
block index, which counts text and thinking blocks too). A call whose input streamed no text
gets ``{}``, so its arguments always parse.

Usage: the API's ``input_tokens`` leaves out what was read from or written to the prompt
cache; `Usage.input_tokens` is the whole prompt (``input_tokens`` +
``cache_read_input_tokens`` + ``cache_creation_input_tokens``), `Usage.cached_tokens` the
cache reads. Thinking tokens are not reported apart from ``output_tokens``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from clawgate.providers._events import Completed, StreamEvent, TextDelta, ToolCallDelta, Usage
from clawgate.providers._messages_encode import DEFAULT_MAX_TOKENS, body, dropped
from clawgate.providers._stream import WireError, count, mapping, text, unfinished

__all__ = ["DEFAULT_MAX_TOKENS", "MessagesStream", "body", "dropped", "from_json"]

# stop_reason → the finish reasons every other wire uses
_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}

_USAGE_KEYS = (
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens",
)


def _finish(stop_reason: str) -> str:
    return _STOP.get(stop_reason, stop_reason)


def _usage(raw: Mapping[str, Any]) -> Usage:
    read = raw.get("cache_read_input_tokens")
    prompt = count(raw.get("input_tokens")) + count(read)
    prompt += count(raw.get("cache_creation_input_tokens"))
    return Usage(
        prompt, count(raw.get("output_tokens")), cached_tokens=None if read is None else count(read)
    )


class MessagesStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.counted = False
        self.id: str | None = None
        self.calls: dict[object, int] = {}  # content block index → tool call index
        self.argued: set[int] = set()  # the calls whose input has had some text

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = data.get("type")
        if kind == "content_block_delta":
            yield from self._delta(data.get("index"), mapping(data.get("delta")))
        elif kind == "content_block_start":
            block = mapping(data.get("content_block"))
            if block.get("type") == "tool_use":
                number = self.calls[data.get("index")] = len(self.calls)
                yield ToolCallDelta(number, text(block.get("id")), text(block.get("name")))
        elif kind == "content_block_stop":
            call = self.calls.get(data.get("index"))
            if call is not None and call not in self.argued:
                self.argued.add(call)
                yield ToolCallDelta(call, arguments="{}")
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

    def _delta(self, index: object, delta: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta" and (chunk := text(delta.get("text"))):
            yield TextDelta(chunk)
        elif kind == "input_json_delta":
            call = self.calls.get(index)
            if call is not None and (piece := text(delta.get("partial_json"))):
                self.argued.add(call)
                yield ToolCallDelta(call, arguments=piece)
        # thinking_delta, signature_delta: the model's reasoning, not its answer

    def _count(self, raw: dict[str, Any]) -> None:
        if raw:
            self.counted = True
            # message_delta's counts are cumulative: the last one is the total. A zero there
            # (a field it does not really report) keeps the count message_start gave.
            for key in _USAGE_KEYS:
                if key in raw and (count(raw[key]) or key not in self.usage):
                    self.usage[key] = raw[key]

    def finish(self, request_id: str | None) -> Completed:
        # message_stop is the terminal event; a clean end right after the stop reason is also
        # a complete answer.
        if self.stop_reason is None:
            raise unfinished(self.provider, "a stop reason", request_id)
        used = _usage(self.usage) if self.counted else None
        return Completed(_finish(self.stop_reason), self.model, used, request_id or self.id)


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    if document.get("type") == "error":
        raise WireError(document)
    stop_reason = text(document.get("stop_reason"))
    if stop_reason is None:
        raise unfinished(provider, "a stop reason", request_id)
    blocks = [mapping(block) for block in document.get("content") or ()]
    said = "".join(text(b.get("text")) or "" for b in blocks if b.get("type") == "text")
    if said:
        yield TextDelta(said)
    calls = [b for b in blocks if b.get("type") == "tool_use"]
    for index, call in enumerate(calls):
        arguments = json.dumps(mapping(call.get("input")), ensure_ascii=False)
        yield ToolCallDelta(index, text(call.get("id")), text(call.get("name")), arguments)
    raw = mapping(document.get("usage"))
    yield Completed(
        _finish(stop_reason),
        text(document.get("model")) or model,
        _usage(raw) if raw else None,
        request_id or text(document.get("id")),
    )

"""The Chat Completions wire format (``POST …/chat/completions``), spoken by OpenAI, GitHub
Copilot and every OpenAI-compatible server (llama.cpp, vLLM, Ollama, OpenRouter). The request
body is `_chat_completions_encode`'s; this module reads the answer.

A streamed answer is ``chat.completion.chunk`` events
(https://platform.openai.com/docs/api-reference/chat-streaming): ``delta.content`` is text;
``delta.tool_calls[]`` are pieces of tool calls, each with the call's ``index`` (the first
piece also its ``id``, ``type`` and ``function.name``; every piece a fragment of
``function.arguments``); ``finish_reason`` on a choice ends the answer (``tool_calls`` when the
model stopped to call tools); a last chunk with empty ``choices`` carries ``usage`` (asked for
with ``stream_options.include_usage``, with ``prompt_tokens_details.cached_tokens`` and
``completion_tokens_details.reasoning_tokens``), then ``data: [DONE]``. A body that ends
cleanly after the finish reason but without ``[DONE]`` is complete (docs/routing.md, "Streaming").

What is not part of the answer text stays out of it: a refusal (``delta.refusal`` /
``message.refusal``) is not relayed and makes an answer that would end with ``stop`` end with
``content_filter``, as the other wires report a refusal; reasoning text some servers stream
(``reasoning_content``) is not relayed either. An answer with tool calls whose server says
``stop`` ends with ``tool_calls``. The gateway never asks for more than one choice, so every
choice a server sends is read as part of the one answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clawgate.providers._chat_completions_encode import body, dropped
from clawgate.providers._events import Completed, StreamEvent, TextDelta, ToolCallDelta, Usage
from clawgate.providers._http import DONE
from clawgate.providers._stream import WireError, count, mapping, text, unfinished

__all__ = ["ChatCompletionsStream", "body", "dropped", "from_json"]


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = mapping(raw.get("prompt_tokens_details"))
    completion = mapping(raw.get("completion_tokens_details"))
    return Usage(
        count(raw.get("prompt_tokens")),
        count(raw.get("completion_tokens")),
        count(prompt["cached_tokens"]) if "cached_tokens" in prompt else None,
        count(completion["reasoning_tokens"]) if "reasoning_tokens" in completion else None,
    )


def _arguments(value: object) -> str:
    """Argument text; a server that sends the arguments as an object gets them as JSON."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def _finish(reason: str, *, called: bool, refused: bool) -> str:
    if reason == "stop" and called:
        return "tool_calls"
    if reason == "stop" and refused:
        return "content_filter"
    return reason


@dataclass
class _Call:
    id: str | None = None
    named: bool = False


class ChatCompletionsStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.id: str | None = None
        self.refused = False
        self._calls: list[_Call] = []
        self._keys: dict[tuple[int, int | None], int] = {}  # (choice, wire index) → index

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        if data is DONE:
            self.done = True
            return
        if "error" in data:
            raise WireError(data)
        self.model = text(data.get("model")) or self.model
        self.id = self.id or text(data.get("id"))
        for choice in data.get("choices") or ():
            choice = mapping(choice)
            delta = mapping(choice.get("delta"))
            content = text(delta.get("content"))
            if content:
                yield TextDelta(content)
            self.refused = self.refused or bool(text(delta.get("refusal")))
            number = choice.get("index")
            for piece in delta.get("tool_calls") or ():
                event = self._piece(number if isinstance(number, int) else 0, mapping(piece))
                if event is not None:
                    yield event
            self.finish_reason = text(choice.get("finish_reason")) or self.finish_reason
        self.usage = _usage(data.get("usage")) or self.usage

    def _piece(self, choice: int, piece: dict[str, Any]) -> ToolCallDelta | None:
        """One ``delta.tool_calls`` piece as a `ToolCallDelta`: the call's id and name on its
        first event only, whatever the server repeats."""
        wire = piece.get("index")
        key = (choice, wire if isinstance(wire, int) else None)
        call_id = text(piece.get("id"))
        function = mapping(piece.get("function"))
        index = self._keys.get(key)
        if index is None and key[1] is None and call_id is None and self._calls:
            index = len(self._calls) - 1  # no index, no id: more of the latest call
        elif index is None or call_id not in (None, self._calls[index].id or call_id):
            index = len(self._calls)  # a new call (also: another id at an index seen before)
            self._calls.append(_Call())
            self._keys[key] = index
        call = self._calls[index]
        new_id = call_id if call.id is None else None
        call.id = call.id or call_id
        name = None if call.named else text(function.get("name"))
        call.named = call.named or name is not None
        arguments = _arguments(function.get("arguments"))
        if new_id is None and name is None and not arguments:
            return None
        return ToolCallDelta(index, new_id, name, arguments)

    def finish(self, request_id: str | None) -> Completed:
        if self.finish_reason is None:
            raise unfinished(self.provider, "a finish reason", request_id)
        reason = _finish(self.finish_reason, called=bool(self._calls), refused=self.refused)
        return Completed(reason, self.model, self.usage, request_id or self.id)


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    """A non-streamed ``chat.completion``, as the same events a stream would give: the text,
    then one `ToolCallDelta` per call with its whole arguments."""
    if "error" in document:
        raise WireError(document)
    choices = [mapping(c) for c in document.get("choices") or ()]
    reason = next((r for c in choices if (r := text(c.get("finish_reason")))), None)
    if not choices or reason is None:
        raise unfinished(provider, "a choice with a finish reason", request_id)
    messages = [mapping(c.get("message")) for c in choices]
    content = "".join(text(m.get("content")) or "" for m in messages)
    if content:
        yield TextDelta(content)
    calls = [mapping(call) for m in messages for call in m.get("tool_calls") or ()]
    for index, call in enumerate(calls):
        function = mapping(call.get("function"))
        yield ToolCallDelta(
            index,
            text(call.get("id")),
            text(function.get("name")),
            _arguments(function.get("arguments")),
        )
    refused = any(text(m.get("refusal")) for m in messages)
    yield Completed(
        _finish(reason, called=bool(calls), refused=refused),
        text(document.get("model")) or model,
        _usage(document.get("usage")),
        request_id or text(document.get("id")),
    )

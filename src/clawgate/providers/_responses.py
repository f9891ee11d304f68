"""The Responses API wire format (``POST …/responses``): OpenAI's API and the ChatGPT
subscription backend (``/backend-api/codex/responses``). The request body is
`_responses_encode`'s; this module reads the answer.

Streamed events are typed (https://platform.openai.com/docs/api-reference/responses-streaming):
``response.created``, ``response.output_text.delta`` (the text), function calls as
``response.output_item.added`` (a ``function_call`` item: its ``call_id`` and ``name``), then
``response.function_call_arguments.delta`` pieces, ``…arguments.done`` and
``response.output_item.done`` (both with the whole arguments), and one terminal event:
``response.completed`` / ``response.incomplete`` (with the reason) / ``response.failed`` (with
an error), or a bare ``error`` event. Reasoning summaries and refusal text have no event here
yet and are not relayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clawgate.providers._events import Completed, StreamEvent, TextDelta, ToolCallDelta, Usage
from clawgate.providers._responses_encode import DEFAULT_INSTRUCTIONS, body, dropped
from clawgate.providers._stream import WireError, count, mapping, text, unfinished

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "ResponsesStream",
    "body",
    "dropped",
    "from_json",
]

# incomplete_details.reason → the finish reasons every other wire uses
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _finish(response: dict[str, Any], called: bool) -> str:
    if response.get("status") == "incomplete":
        reason = text(mapping(response.get("incomplete_details")).get("reason"))
        return _INCOMPLETE.get(reason or "", reason or "incomplete")
    if called or any(_is_call(item) for item in response.get("output") or ()):
        return "tool_calls"
    return "stop"


def _is_call(item: object) -> bool:
    return mapping(item).get("type") == "function_call"


def _tokens(value: object) -> int | None:
    return count(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(response: dict[str, Any]) -> Usage | None:
    raw = response.get("usage")
    if not isinstance(raw, dict):
        return None
    return Usage(
        count(raw.get("input_tokens")),
        count(raw.get("output_tokens")),
        _tokens(mapping(raw.get("input_tokens_details")).get("cached_tokens")),
        _tokens(mapping(raw.get("output_tokens_details")).get("reasoning_tokens")),
    )


@dataclass
class _Call:
    """One function call of a streamed answer: its place among the calls, and how much of it
    the caller has seen."""

    index: int
    id: str | None
    name: str | None
    named: bool = False  # the piece with id and name went out
    argued: bool = False  # argument text went out

    def piece(self, arguments: str = "") -> ToolCallDelta:
        self.argued = self.argued or bool(arguments)
        if self.named:
            return ToolCallDelta(self.index, arguments=arguments)
        self.named = True
        return ToolCallDelta(self.index, self.id, self.name, arguments)

    def whole(self, arguments: str | None) -> Iterator[ToolCallDelta]:
        """The whole arguments, unless pieces of them went out already."""
        if arguments and not self.argued:
            yield self.piece(arguments)
        elif not self.named:
            yield self.piece()


class ResponsesStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.final: dict[str, Any] | None = None
        self.calls: list[_Call] = []
        self._by_item: dict[str, _Call] = {}
        self._by_output: dict[int, _Call] = {}

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = data.get("type")
        response = mapping(data.get("response"))
        self.model = text(response.get("model")) or self.model
        if kind == "response.output_text.delta":
            delta = text(data.get("delta"))
            if delta:
                yield TextDelta(delta)
        elif kind == "response.output_item.added" and _is_call(data.get("item")):
            added = self._call(data)
            if not added.named:
                yield added.piece()
        elif kind == "response.function_call_arguments.delta":
            delta = text(data.get("delta"))
            if delta and (call := self._find(data)) is not None:
                yield call.piece(delta)
        elif kind == "response.function_call_arguments.done":
            if (argued := self._find(data)) is not None:
                yield from argued.whole(text(data.get("arguments")))
        elif kind == "response.output_item.done" and _is_call(data.get("item")):
            ended = self._call(data)
            yield from ended.whole(text(mapping(data.get("item")).get("arguments")))
        elif kind in ("response.completed", "response.incomplete"):
            self.final = response
            self.done = True
        elif kind == "response.failed":
            raise WireError(response.get("error") or {})
        elif kind == "error":
            raise WireError(data)

    def _find(self, data: dict[str, Any]) -> _Call | None:
        """The call an event names, by its item id, else by its place in the output."""
        item = text(data.get("item_id")) or text(mapping(data.get("item")).get("id"))
        if item is not None and item in self._by_item:
            return self._by_item[item]
        place = data.get("output_index")
        return self._by_output.get(place) if isinstance(place, int) else None

    def _call(self, data: dict[str, Any]) -> _Call:
        """The call an ``output_item`` event is about; a new one (the next index) if unseen."""
        call = self._find(data)
        if call is not None:
            return call
        item = mapping(data.get("item"))
        call = _Call(
            len(self.calls),
            text(item.get("call_id")) or text(item.get("id")),
            text(item.get("name")),
        )
        self.calls.append(call)
        if (item_id := text(item.get("id"))) is not None:
            self._by_item[item_id] = call
        if isinstance(place := data.get("output_index"), int):
            self._by_output[place] = call
        return call

    def finish(self, request_id: str | None) -> Completed:
        if self.final is None:
            raise unfinished(self.provider, "response.completed", request_id)
        request_id = request_id or text(self.final.get("id"))
        return Completed(
            _finish(self.final, bool(self.calls)), self.model, _usage(self.final), request_id
        )


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    if document.get("status") == "failed" or document.get("error"):
        raise WireError(document.get("error") or {})
    if document.get("status") not in ("completed", "incomplete"):
        raise unfinished(provider, "a completed status", request_id)
    output = [mapping(item) for item in document.get("output") or ()]
    parts = [
        text(mapping(part).get("text")) or ""
        for item in output
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if mapping(part).get("type") == "output_text"
    ]
    if "".join(parts):
        yield TextDelta("".join(parts))
    calls = [item for item in output if _is_call(item)]
    for index, call in enumerate(calls):
        yield ToolCallDelta(
            index,
            text(call.get("call_id")) or text(call.get("id")),
            text(call.get("name")),
            text(call.get("arguments")) or "",
        )
    yield Completed(
        _finish(document, bool(calls)),
        text(document.get("model")) or model,
        _usage(document),
        request_id or text(document.get("id")),
    )

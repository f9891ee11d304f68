"""A streamed response as the Responses API's server-sent events
(https://platform.openai.com/docs/api-reference/responses-streaming): each event an
``event: <type>`` line and data with its ``type`` and ``sequence_number``.

The order is the documented one: ``response.created``, ``response.in_progress``; then per output
item ``response.output_item.added``, for text ``response.content_part.added``,
``response.output_text.delta``…, ``response.output_text.done``, ``response.content_part.done``,
for a function call ``response.function_call_arguments.delta``…,
``response.function_call_arguments.done``, then ``response.output_item.done``; and last
``response.completed`` (``response.incomplete`` for a cut-short answer). An item is done when
the next one starts or the answer ends.

A turn that fails before any content is an ordinary error response (`first_answer` raises);
one cut after content ends with ``response.failed`` carrying the error, never a completion.
The stream holds the turn's runtime lease as chat's does (`LeasedStream`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.responses import Response

from clawgate.gateway._http import answer_facts, answer_headers
from clawgate.gateway._responses_request import ResponsesRequest
from clawgate.gateway._responses_shapes import (
    Frame,
    call_item,
    echo,
    incomplete_reason,
    message_item,
    output_text,
    surface,
)
from clawgate.gateway._runtimes import Lease
from clawgate.gateway._stream import Events, LeasedStream, first_answer
from clawgate.providers import Content, TextDelta, ToolCall, ToolCallDelta
from clawgate.runtime import Answering, Runtime, TurnFailed, TurnRequest, TurnResult

__all__ = ["Keep", "ResponseEvents", "stream_response"]

# Keeps a finished response (its object, and the result; None when it failed) before its
# last event is sent, so that a client that reads the end can fetch it at once.
Keep = Callable[[dict[str, Any], TurnResult | None], None]
Event = dict[str, Any]


async def stream_response(
    lease: Lease[Runtime], turn: TurnRequest, body: ResponsesRequest, keep: Keep
) -> Response:
    """Headers wait for the first content, so they can name who answers; a turn that fails
    before it raises here (`TurnFailed`). Takes ``lease`` as `stream_answer` does."""
    created = int(time.time())
    events = lease.runtime.stream(turn)
    first, done = await first_answer(lease, events)
    first = surface(first, body.unsent)
    writer = ResponseEvents(Frame(first.turn_id, created, echo(body)), first)
    return LeasedStream(
        _sse(events, writer, done, body.unsent, keep),
        events,
        lease,
        media_type="text/event-stream",
        headers={**answer_headers(first), "cache-control": "no-cache"},
    )


def encode(event: Event) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


async def _sse(
    events: Events,
    writer: ResponseEvents,
    done: TurnResult | None,
    unsent: tuple[str, ...],
    keep: Keep,
) -> AsyncGenerator[bytes, None]:
    for event in writer.opening():
        yield encode(event)
    try:
        async with contextlib.aclosing(events):
            async for turn_event in events:
                if isinstance(turn_event, TextDelta | ToolCallDelta):
                    for event in writer.content(turn_event):
                        yield encode(event)
                elif isinstance(turn_event, TurnResult):
                    done = turn_event
    except TurnFailed as exc:
        # Content was sent: the answer is cut. Say so; never a completion.
        ending = writer.failed(exc.code, exc.message)
        keep(ending[-1]["response"], None)
        for event in ending:
            yield encode(event)
        return
    if done is not None:
        ending = writer.finished(done, answer_facts(surface(done, unsent)))
        keep(ending[-1]["response"], done)
        for event in ending:
            yield encode(event)


@dataclass
class _Item:
    place: int  # output_index
    id: str
    call: ToolCall | None = None  # a function call's id and name; None: the message
    pieces: list[str] = field(default_factory=list)  # its text, or the call's arguments
    done: dict[str, Any] | None = None  # the item as its output_item.done said

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def shape(self, status: str) -> dict[str, Any]:
        if self.call is None:
            return message_item(self.id, self.text, status)
        return call_item(self.id, replace(self.call, arguments=self.text), status)


class ResponseEvents:
    """One response's events, in order and numbered: the opening, those of each piece of
    content, and the ending (finished or failed), whose last event carries the whole response
    object. It only renders: no I/O, no clock."""

    def __init__(self, frame: Frame, first: Answering) -> None:
        self.frame = frame
        self.first = first
        self._seq = itertools.count()
        self._items: list[_Item] = []
        self._open: _Item | None = None
        self._calls: dict[int, _Item] = {}  # by the call's index in the answer

    def _event(self, kind: str, **fields: Any) -> Event:
        return {"type": kind, "sequence_number": next(self._seq), **fields}

    def _on(self, item: _Item, **fields: Any) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.place, **fields}

    def opening(self) -> list[Event]:
        started = self.frame.response("in_progress", self.first.model, [], self._facts())
        return [
            self._event("response.created", response=started),
            self._event("response.in_progress", response=started),
        ]

    def _facts(self) -> dict[str, Any]:
        return answer_facts(self.first)

    def content(self, piece: Content) -> list[Event]:
        if isinstance(piece, ToolCallDelta):
            return self._call(piece)
        if not piece.text:
            return []
        out = [] if self._open and self._open.call is None else self._open_message()
        item = self._items[-1]
        item.pieces.append(piece.text)
        out.append(
            self._event(
                "response.output_text.delta",
                **self._on(item, content_index=0, delta=piece.text, logprobs=[]),
            )
        )
        return out

    def _open_message(self) -> list[Event]:
        out = self._close("completed")
        place = len(self._items)
        first = not any(i.call is None for i in self._items)
        item = self._start(
            _Item(place, f"msg_{self.frame.turn_id}" + ("" if first else f"_{place}"))
        )
        out.append(
            self._event(
                "response.output_item.added",
                output_index=place,
                item=item.shape("in_progress"),
            )
        )
        out.append(
            self._event(
                "response.content_part.added",
                **self._on(item, content_index=0, part=output_text("")),
            )
        )
        return out

    def _call(self, piece: ToolCallDelta) -> list[Event]:
        out: list[Event] = []
        item = self._calls.get(piece.index)
        if item is None:
            out += self._close("completed")
            call = ToolCall(piece.id or "", piece.name or "", "")
            place = len(self._items)
            item = self._start(_Item(place, f"fc_{self.frame.turn_id}_{len(self._calls)}", call))
            self._calls[piece.index] = item
            out.append(
                self._event(
                    "response.output_item.added",
                    output_index=place,
                    item=item.shape("in_progress"),
                )
            )
        item.pieces.append(piece.arguments)
        if piece.arguments and item.done is None:  # a late piece of a done call is only kept
            out.append(
                self._event(
                    "response.function_call_arguments.delta",
                    **self._on(item, delta=piece.arguments),
                )
            )
        return out

    def _start(self, item: _Item) -> _Item:
        self._items.append(item)
        self._open = item
        return item

    def _close(self, status: str) -> list[Event]:
        item, self._open = self._open, None
        if item is None:
            return []
        item.done = item.shape(status)
        if item.call is None:
            out = [
                self._event(
                    "response.output_text.done",
                    **self._on(item, content_index=0, text=item.text, logprobs=[]),
                ),
                self._event(
                    "response.content_part.done",
                    **self._on(item, content_index=0, part=output_text(item.text)),
                ),
            ]
        else:
            out = [
                self._event(
                    "response.function_call_arguments.done",
                    **self._on(item, name=item.call.name, arguments=item.text),
                )
            ]
        out.append(
            self._event("response.output_item.done", output_index=item.place, item=item.done)
        )
        return out

    def finished(self, result: TurnResult, facts: dict[str, Any]) -> list[Event]:
        """The ending of an answer: the open item done, then ``response.completed`` (or
        ``response.incomplete``) with every item and the usage."""
        cut = incomplete_reason(result.finish_reason) is not None
        out = [] if self._items else self._open_message()  # an empty answer: one empty message
        out += self._close("incomplete" if cut else "completed")
        final = self.frame.response(
            "incomplete" if cut else "completed",
            result.model,
            [item.shape(item.done["status"] if item.done else "completed") for item in self._items],
            facts,
            used=result.usage,
            finish_reason=result.finish_reason,
        )
        out.append(
            self._event("response.incomplete" if cut else "response.completed", response=final)
        )
        return out

    def failed(self, code: str, message: str) -> list[Event]:
        """The ending of a cut answer: ``response.failed`` with what was sent and the error."""
        output = [
            item.shape(item.done["status"] if item.done else "incomplete") for item in self._items
        ]
        facts = {**self._facts(), "error": code}
        error = {"code": code, "message": message}
        final = self.frame.response("failed", self.first.model, output, facts, error=error)
        return [self._event("response.failed", response=final)]

"""A streamed answer as Anthropic's server-sent events
(https://docs.anthropic.com/en/docs/build-with-claude/streaming): ``message_start`` (the
message with no content yet), ``ping``, then each content block as ``content_block_start``,
its ``content_block_delta``s and ``content_block_stop``, then ``message_delta`` (stop reason
and the whole usage) and ``message_stop``. Every event is ``event: <type>`` plus its JSON.

Blocks follow the answer's content one at a time, numbered from 0: text is a ``text`` block
of ``text_delta``s; each tool call a ``tool_use`` block that opens with its id, its name and
``input: {}`` and streams its arguments as ``input_json_delta``s, each piece exactly as the
upstream wrote it (never an empty one, never one left out), so a client that joins them has
the call's arguments. A block ends when other content begins. Every wire here streams one
call after another; an upstream that went back to a call already closed could not be told
truthfully, and ends the answer with an error rather than lose its text.

A turn cut after content was sent ends with an ``error`` event carrying Anthropic's error
object, and no ``message_stop``: a client never takes a cut answer for a whole one. One that
fails before any content is an ordinary error answer (`stream_message` raises `TurnFailed`),
so failing over before the first token is invisible.

The usage of ``message_start`` carries the input estimated (about four characters a token;
no wire here counts it before answering), so a client can show the context it is using at
once; the real counts come with the answer's end, in ``message_delta``, whose counts clients
take as the totals.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator
from typing import Any

from starlette.responses import Response

from clawgate.gateway._anthropic_shapes import (
    described,
    error_body,
    failure_error,
    headers,
    message_id,
    stop_reason,
    usage,
)
from clawgate.gateway._runtimes import Lease
from clawgate.gateway._stream import Events, LeasedStream, first_answer
from clawgate.providers import Content, TextDelta, is_content
from clawgate.runtime import (
    Answering,
    Runtime,
    TurnFailed,
    TurnRequest,
    TurnResult,
    estimate_input,
)

__all__ = ["Blocks", "Interleaved", "event_bytes", "failed_event", "stream_message"]


async def stream_message(
    lease: Lease[Runtime], turn: TurnRequest, dropped: tuple[str, ...]
) -> Response:
    """Headers wait for the first content, so they can name who answers; a turn that fails
    before any raises here (`TurnFailed`), for an ordinary error answer.

    Takes ``lease``: released here when no stream is returned, else by the stream."""
    events = lease.runtime.stream(turn)
    first, done = await first_answer(lease, events)
    estimated = estimate_input(turn.messages, turn.options.tools)
    return LeasedStream(
        _sse(events, first, done, estimated),
        events,
        lease,
        media_type="text/event-stream",
        headers={**headers(first, dropped), "cache-control": "no-cache"},
    )


def event_bytes(document: dict[str, Any]) -> bytes:
    return f"event: {document['type']}\ndata: {json.dumps(document)}\n\n".encode()


class Interleaved(Exception):
    """Content for a tool call whose block was already closed."""


class Blocks:
    """The answer's content events as Anthropic's block events, one block open at a time."""

    def __init__(self, first: Answering, estimated_input: int = 0) -> None:
        self.first = first
        self.estimated_input = estimated_input
        self.count = 0  # blocks opened so far; the open one is count - 1
        self.open: tuple[str, int] | None = None  # ("text", 0) or ("tool", call index)
        self.calls: set[int] = set()  # the calls whose block was opened

    def start(self) -> list[dict[str, Any]]:
        message: dict[str, Any] = {
            "id": message_id(self.first.turn_id),
            "type": "message",
            "role": "assistant",
            "model": self.first.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.estimated_input, "output_tokens": 0},
        }
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def content(self, event: Content) -> list[dict[str, Any]]:
        if isinstance(event, TextDelta):
            if not event.text:
                return []
            said = self._switch(("text", 0), {"type": "text", "text": ""})
            delta = {"type": "text_delta", "text": event.text}
            return [*said, self._delta(delta)]
        key = ("tool", event.index)
        said = []
        if self.open != key:
            if event.index in self.calls:
                raise Interleaved(f"tool call {event.index} went on after its block closed")
            self.calls.add(event.index)
            block = {
                "type": "tool_use",
                "id": event.id or f"toolu_{self.first.turn_id}_{event.index}",
                "name": event.name or "",
                "input": {},
            }
            said = self._switch(key, block)
        if event.arguments:
            said.append(self._delta({"type": "input_json_delta", "partial_json": event.arguments}))
        return said

    def finish(self, result: TurnResult) -> list[dict[str, Any]]:
        return [
            *self._close(),
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(result.finish_reason), "stop_sequence": None},
                "usage": usage(result.usage),
            },
            {"type": "message_stop"},
        ]

    def _switch(self, key: tuple[str, int], block: dict[str, Any]) -> list[dict[str, Any]]:
        if self.open == key:
            return []
        said = self._close()
        self.open = key
        self.count += 1
        said.append(
            {"type": "content_block_start", "index": self.count - 1, "content_block": block}
        )
        return said

    def _close(self) -> list[dict[str, Any]]:
        if self.open is None:
            return []
        self.open = None
        return [{"type": "content_block_stop", "index": self.count - 1}]

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self.count - 1, "delta": delta}


def failed_event(exc: TurnFailed) -> dict[str, Any]:
    """The cut answer's last event: Anthropic's error object for the failure."""
    _, type_ = failure_error(exc.failure.kind)
    return error_body(type_, described(exc))


async def _sse(
    events: Events, first: Answering, done: TurnResult | None, estimated: int
) -> AsyncGenerator[bytes, None]:
    blocks = Blocks(first, estimated)
    for document in blocks.start():
        yield event_bytes(document)
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, TurnResult):
                    done = event
                elif is_content(event):
                    for document in blocks.content(event):
                        yield event_bytes(document)
    except TurnFailed as exc:
        # Content was sent: the answer is cut. Say so; never a normal finish.
        yield event_bytes(failed_event(exc))
        return
    except Interleaved as exc:
        yield event_bytes(error_body("api_error", f"the answer could not be streamed: {exc}"))
        return
    if done is not None:
        for document in blocks.finish(done):
            yield event_bytes(document)

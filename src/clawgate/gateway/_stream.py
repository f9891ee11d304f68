"""A streamed answer as OpenAI server-sent events: a role chunk, one chunk per piece of text,
the final chunk with the finish reason and who answered (and usage, when asked), then
``[DONE]``. A turn cut after text was sent ends in-band with ``finish_reason: "error"`` and
an error event, never with a normal finish.

The response holds the turn's runtime lease until its body is finished or its client is
gone; either way the turn's event stream (and so the upstream request) is closed first.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from clawgate import metrics
from clawgate.gateway._chat_request import ChatRequest
from clawgate.gateway._http import answer_facts, answer_headers
from clawgate.gateway._openai import chunk, error_body, tool_call_delta
from clawgate.gateway._runtimes import Lease
from clawgate.providers import TextDelta, ToolCallDelta
from clawgate.runtime import Answering, Runtime, TurnEvent, TurnFailed, TurnRequest, TurnResult

__all__ = ["Events", "LeasedStream", "first_answer", "stream_answer"]

Events = AsyncGenerator[TurnEvent, None]


async def stream_answer(lease: Lease[Runtime], turn: TurnRequest, chat: ChatRequest) -> Response:
    """Headers wait for the first text, so they can name who answers; a turn that fails
    before any text raises here (`TurnFailed`), for an ordinary error response.

    Takes ``lease``: released here when no stream is returned, else by the stream."""
    events = lease.runtime.stream(turn)
    first, done = await first_answer(lease, events)
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
    return LeasedStream(
        _sse(events, first, done, include_usage),
        events,
        lease,
        media_type="text/event-stream",
        headers={**answer_headers(first), "cache-control": "no-cache"},
    )


async def first_answer(
    lease: Lease[Runtime], events: Events
) -> tuple[Answering, TurnResult | None]:
    """Read ``events`` up to who answers (its first content comes next), or to the result of
    an empty answer (then returned too). A failure before that closes the turn, releases
    ``lease`` and is raised."""
    first: Answering | None = None
    done: TurnResult | None = None
    try:
        async for event in events:
            if isinstance(event, Answering):
                first = event
                break
            if isinstance(event, TurnResult):  # an empty answer: no text, straight to the end
                first = Answering(
                    event.turn_id, event.model, event.profile, event.fallback, event.dropped
                )
                done = event
                break
        assert first is not None, "a turn stream ends with a TurnResult or raises"
    except BaseException:
        with anyio.CancelScope(shield=True):
            try:
                await events.aclose()
            finally:
                await lease.release()
        raise
    return first, done


class LeasedStream(StreamingResponse):
    """A streaming response that closes its turn and releases its lease when it is over:
    sent to the end, cut by a client disconnect, or never started."""

    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        events: Events,
        lease: Lease[Runtime],
        *,
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(body, media_type=media_type, headers=headers)
        self._body = body
        self._events = events
        self._lease = lease

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with metrics.ACTIVE_STREAMS.labels(scope["path"]).track_inprogress():
                # Not Starlette's own __call__, which listens for the client's hang-up in a
                # task group of its own: `HangUp` listens already, and cancels this.
                await self.stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self._body.aclose()
                    await self._events.aclose()  # when the body never started
                finally:
                    await self._lease.release()


def _data(document: object) -> bytes:
    return f"data: {json.dumps(document)}\n\n".encode()


async def _sse(
    events: Events,
    first: Answering,
    done: TurnResult | None,
    include_usage: bool,
) -> AsyncGenerator[bytes, None]:
    turn, model = first.turn_id, first.model
    yield _data(chunk(turn, model, delta={"role": "assistant", "content": ""}))
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, TextDelta):
                    yield _data(chunk(turn, model, delta={"content": event.text}))
                elif isinstance(event, ToolCallDelta):
                    yield _data(chunk(turn, model, delta={"tool_calls": [tool_call_delta(event)]}))
                elif isinstance(event, TurnResult):
                    done = event
    except TurnFailed as exc:
        # Content was sent: the answer is cut. Say so in-band; never a normal finish.
        cut = {**answer_facts(first), "error": exc.code}
        yield _data(chunk(turn, model, finish_reason="error", clawgate=cut))
        yield _data(error_body(exc.message, code=exc.code, type_="api_error"))
    if done is not None:
        facts = answer_facts(done)
        yield _data(chunk(turn, model, finish_reason=done.finish_reason, clawgate=facts))
        if include_usage:
            yield _data(chunk(turn, model, usage=done.usage, choices=False))
    yield b"data: [DONE]\n\n"

"""A streamed answer's upstream connection carries the next request: the relay reads past the
terminal event (``data: [DONE]``) to the end of the chunked body, where it used to stop and
close the connection, so every streamed turn paid a new one. An upstream that never ends its
body after the terminal event still gives a complete answer, without a wait past the grace,
and its connection is not reused."""

from __future__ import annotations

import asyncio
import json

import pytest

from clawgate.config import Timeouts
from clawgate.providers import Classifier, Completed, TextDelta
from clawgate.providers._chat_completions import ChatCompletionsStream
from clawgate.providers._http import HttpTransport
from clawgate.providers._stream import END_GRACE_SECONDS, relay
from tests.providers.raw import Raw, serve

pytestmark = pytest.mark.anyio


def _chunked(*frames: str, end: bool) -> bytes:
    """An SSE answer in chunked transfer coding (as OpenAI sends it), each event a chunk;
    with ``end`` the last chunk that ends the body (RFC 9112 section 7.1)."""
    body = b"".join(b"%x\r\n%s\r\n" % (len(f.encode()), f.encode()) for f in frames)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
    return head + b"\r\n" + body + (b"0\r\n\r\n" if end else b"")


def _frames() -> list[str]:
    delta = {"choices": [{"index": 0, "delta": {"content": "hello"}, "finish_reason": None}]}
    final = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    return [f"data: {json.dumps(delta)}\n\n", f"data: {json.dumps(final)}\n\n", "data: [DONE]\n\n"]


async def _streamed_turns(n: int, *, ends_body: bool) -> tuple[int, list[list[object]]]:
    """``n`` streamed calls one after another; the connections the upstream saw, and the
    events of each call."""
    answer = _chunked(*_frames(), end=ends_body)
    transport = HttpTransport(
        Classifier("openai", "log in again"), Timeouts(connect=5, first_token=5, idle=5, total=10)
    )
    answers: list[list[object]] = []
    try:
        async for url in serve(*[answer] * n):
            for _ in range(n):
                async with transport.exchange("POST", url, json_body={}) as exchange:
                    events = relay(exchange, ChatCompletionsStream("openai", "m"))
                    answers.append([event async for event in events])
    finally:
        await transport.aclose()
    return Raw.opened, answers


async def test_streamed_answers_one_after_another_share_one_connection() -> None:
    opened, answers = await _streamed_turns(3, ends_body=True)
    assert opened == 1
    for events in answers:
        assert events[0] == TextDelta("hello")
        assert isinstance(events[-1], Completed)
        assert events[-1].finish_reason == "stop"


async def test_a_body_left_open_after_the_end_is_complete_and_its_connection_not_reused() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    opened, answers = await _streamed_turns(2, ends_body=False)
    assert opened == 2
    assert all(isinstance(events[-1], Completed) for events in answers)
    # Each waited out the grace for the body's end, and no longer (not the idle deadline).
    assert loop.time() - began < 2 * END_GRACE_SECONDS + 4.0

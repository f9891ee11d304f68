"""Turning a provider's decoded stream events into the normalized event stream.

Each wire format (`_chat_completions`, `_responses`, `_messages`) is a small state machine:
`feed` one decoded event, get normalized events back; `finish` when the body ends. `relay`
drives one over an `Exchange`, so every wire gets the same deadlines, the same handling of
errors sent inside the stream, and the same rule for an unfinished answer (docs/routing.md,
"Streaming"): no `Completed` unless the provider really finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, Protocol

from clawgate.errorbody import ErrorBody, error_from
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers._events import Completed, StreamEvent, Usage, is_content
from clawgate.providers._http import Exchange

__all__ = [
    "Wire",
    "WireError",
    "count",
    "mapping",
    "relay",
    "relay_json",
    "text",
    "unfinished",
    "usage",
]


class WireError(Exception):
    """The provider reported an error inside a 2xx answer; `relay` classifies it."""

    def __init__(self, document: object) -> None:
        super().__init__("error event")
        self.error: ErrorBody = error_from(document)


class Wire(Protocol):
    done: bool  # the terminal event was seen

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]: ...

    def finish(self, request_id: str | None) -> Completed:
        """The final event, or `Failed` (stream_broken) if the answer is unfinished."""
        ...


async def relay(exchange: Exchange, wire: Wire) -> AsyncGenerator[StreamEvent, None]:
    decoded = exchange.events()
    first = True
    try:
        async with contextlib.aclosing(decoded):
            async for data in decoded:
                for event in wire.feed(data):
                    if is_content(event):
                        exchange.deadlines.content()
                    yield event
                    if first and is_content(event):
                        # The first content leaves now. What the gateway writes to its client
                        # goes out at the loop's next pass (`gateway._cork`), and when the
                        # whole answer came in one read, nothing here would wait before its
                        # end: the first token would leave with the last.
                        first = False
                        await asyncio.sleep(0)
                if wire.done:
                    await _body_end(decoded)
                    break
    except WireError as exc:
        raise exchange.failed(exc.error) from None
    yield wire.finish(exchange.request_id)


# How long the body's end may follow the terminal event before the connection is given up.
END_GRACE_SECONDS = 0.05


async def _body_end(decoded: AsyncGenerator[dict[str, Any], None]) -> None:
    """Read past the terminal event to the end of the body (a chunked body's last chunk,
    RFC 9112 section 7.1, normally in the same packet), so that the connection can carry the
    next request: one left mid-body is closed, and every streamed turn paid a new connection
    (bench/overhead.py). An upstream that keeps the body open is not waited for past
    `END_GRACE_SECONDS`; whatever it sends after the end is ignored."""
    with contextlib.suppress(TimeoutError, Failed):
        async with asyncio.timeout(END_GRACE_SECONDS):
            async for _ in decoded:
                pass


def unfinished(provider: str, what: str, request_id: str | None) -> Failed:
    return Failed(
        Failure(
            FailureClass.STREAM_BROKEN,
            f"{provider}'s answer ended without {what}: it is incomplete",
            request_id=request_id,
        )
    )


def present(**fields: Any) -> dict[str, Any]:
    """The fields that were given a value: an encoder sends only what was asked."""
    return {key: value for key, value in fields.items() if value is not None}


def count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage(raw: object, input_key: str, output_key: str) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(count(raw.get(input_key)), count(raw.get(output_key)))


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def relay_json(
    exchange: Exchange, parse: Callable[[dict[str, Any], str | None], Iterator[StreamEvent]]
) -> AsyncGenerator[StreamEvent, None]:
    """A non-streamed answer, as the same events a stream would give."""
    document = await exchange.json()
    try:
        events = list(parse(document, exchange.request_id))
    except WireError as exc:
        raise exchange.failed(exc.error) from None
    for event in events:
        yield event

"""Slow clients (slowloris): how long a connection may take to send its request.

uvicorn closes a kept-alive connection that stays idle for ``timeout_keep_alive`` seconds,
but sets no deadline on a request being sent: a connection that sends half a header line and
then nothing is kept open for ever, and so is a body that never ends (the first byte of a
request even cancels the keep-alive timer). `SlowClients`, uvicorn's HTTP protocol with the
two deadlines it lacks, closes them:

- the request's headers within ``gateway.headerTimeout`` seconds (10 by default) of the
  connection being opened, or of the previous answer on a kept-alive one;
- its body within ``gateway.bodyTimeout`` seconds (30) of its headers, however it trickles.

A request that misses one is answered 408 Request Timeout (RFC 9110, 15.5.9) with
``Connection: close``, in its surface's error shape once its path is known, and the
connection is closed; the app's request, if one is waiting for the body, hears a disconnect.
A connection that sent nothing is closed without a word. How long the app takes to answer
has no deadline here: a turn may take minutes.

The protocol is uvicorn's httptools one where httptools is installed (the ``speed`` extra:
its C parser cost the gateway about a fifth less CPU per turn than h11's, README
"Performance"), else its h11 one; the deadlines are the same on both. Either writes through
`_cork`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import h11
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

from clawgate.gateway._cork import Corked
from clawgate.gateway._surface import surface_error

__all__ = ["SlowClients", "slow_clients"]

log = logging.getLogger("clawgate.gateway")

Phase = Literal["headers", "body"]
_KEY: dict[Phase, str] = {"headers": "headerTimeout", "body": "bodyTimeout"}


def slow_clients(header: float, body: float) -> type[asyncio.Protocol]:
    """The protocol class uvicorn builds each connection with, on these deadlines (seconds:
    ``gateway.headerTimeout``, ``gateway.bodyTimeout``)."""
    base: type[asyncio.Protocol]
    try:
        base = _fast()
    except ImportError:  # no httptools on this platform: h11, which serves the same
        base = SlowClients

    class Configured(base):  # type: ignore[valid-type,misc]
        header_timeout = header
        body_timeout = body

    return Configured


class _Deadlines:
    """The deadlines, on whichever uvicorn protocol this is mixed into: it says which phase
    the client is in (`_now`) and calls `_follow` when that may have changed."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def _watch(self) -> None:
        self._phase: Phase | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._heard = False  # bytes of a request whose headers are not complete

    def _begin(self) -> None:
        """Set up what `_now` reads, as the connection is made."""

    def _now(self) -> Phase | None:
        """What the client is sending: a request's headers, its body, or nothing more (the
        request is in)."""
        raise NotImplementedError

    # The protocol's own calls, with the deadlines followed around them (`super()` is the
    # uvicorn protocol this is mixed into).

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._watch()
        self._begin()
        # uvicorn writes through the cork: a response's head and body in one send (`_cork`).
        corked = Corked(transport, self._server().loop)  # type: ignore[arg-type]
        super().connection_made(corked)  # type: ignore[misc]
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        self._follow()
        if self._phase == "headers" and data:
            self._heard = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _follow(self) -> None:
        """Start the deadline of the phase the client is now in, when it changed."""
        phase = None if self._server().transport.is_closing() else self._now()
        if phase == self._phase:
            return
        self._cancel()
        self._phase, self._heard = phase, False
        if phase is not None:
            limit = self.header_timeout if phase == "headers" else self.body_timeout
            self._timer = self._server().loop.call_later(limit, self._late)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _server(self) -> Any:
        return self  # the protocol this is mixed into: its loop, transport, cycle, client

    def _late(self) -> None:
        self._timer = None
        protocol = self._server()
        phase = self._phase
        if phase is None or protocol.transport.is_closing():
            return
        limit = self.header_timeout if phase == "headers" else self.body_timeout
        what = "headers" if phase == "headers" else "body"
        message = (
            f"the request's {what} did not arrive within {limit:g} s; send it whole, or raise "
            f"gateway.{_KEY[phase]}"
        )
        cycle = protocol.cycle if phase == "body" else None
        answer = phase == "body" or self._heard
        if cycle is not None:
            answer = not cycle.response_started
            # The app's request hears that its client is gone, and what it sends goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
        if answer:
            path = cycle.scope["path"] if cycle is not None else ""
            protocol.transport.write(
                _408(surface_error(path, 408, message, code="request_timeout"))
            )
        log.debug("slow client %s: %s", protocol.client, message)
        protocol.transport.close()


class SlowClients(_Deadlines, H11Protocol):
    """uvicorn's h11 protocol with the deadlines: the phase is h11's state of the client."""

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()  # the next request's headers are awaited from now

    def _now(self) -> Phase | None:
        theirs = self.conn.their_state
        if theirs is h11.IDLE:
            return "headers"
        if theirs is h11.SEND_BODY:
            return "body"
        return None


def _fast() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with the deadlines; ImportError without httptools. The
    phase is followed from the parser's callbacks: headers until they are complete, then the
    body until the message is, then nothing until the answer is complete."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class FastSlowClients(_Deadlines, HttpToolsProtocol):
        def _begin(self) -> None:
            self._receiving: Phase | None = "headers"
            self._unanswered = 0  # requests in whole whose answers are not complete

        def on_message_begin(self) -> None:
            self._receiving = "headers"
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._receiving = "body"
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._receiving = None
            self._unanswered += 1
            super().on_message_complete()

        def on_response_complete(self) -> None:
            self._unanswered -= 1
            if self._receiving is None and not self._unanswered:
                self._receiving = "headers"
            super().on_response_complete()
            self._follow()  # the next request's headers are awaited from now

        def _now(self) -> Phase | None:
            return self._receiving

    return FastSlowClients


def _408(response: Response) -> bytes:
    """The whole answer, written past the parser (which has no request to answer in the
    headers phase) since the connection closes right after it."""
    lines = [b"HTTP/1.1 408 Request Timeout", b"connection: close"]
    lines += [name + b": " + value for name, value in response.raw_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + response.body

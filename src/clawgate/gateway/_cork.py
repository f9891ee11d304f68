"""Writes to a client that go out together: what uvicorn writes to one connection within one
turn of the event loop (a response's head, its body, the end of a chunked body) is sent in
one ``send``, not one each.

On loopback every ``send`` is a trip through the TCP stack that the sender pays for, the
receiver's wake-up included: the head and body of a non-streamed answer as two writes cost
the gateway about a tenth of its CPU per turn (py-spy under ``bench/overhead.py``). The
delay is one pass of the loop: a streamed answer's events still leave as they come.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Corked"]


class Corked:
    """``transport`` (uvicorn's view of it) with writes held until the loop's next pass.
    Everything else, flow control included, is the transport's own; closing sends what is
    held first, as a transport's ``close`` does with its buffer."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._held is None:
            self._held = [bytes(data)]
            self._loop.call_soon(self._flush)
        else:
            self._held.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

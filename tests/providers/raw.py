"""A raw HTTP/1.1 upstream for the client's tests: each request (a head and a Content-Length
body) is answered with the next scripted bytes, written as they are (framing, errors and all),
then the connection kept or closed as the script says. Counts the connections it accepted and
keeps the requests it read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import ClassVar

__all__ = ["Raw", "closing", "serve"]


class Raw(asyncio.Protocol):
    answers: ClassVar[list[tuple[bytes, bool]]] = []  # bytes to write, then close?
    opened = 0
    seen: ClassVar[list[bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Raw.opened += 1
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.received = b""

    def data_received(self, data: bytes) -> None:
        self.received += data
        end = self.received.find(b"\r\n\r\n")
        if end < 0:
            return
        length = 0
        for line in self.received[:end].lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if len(self.received) < end + 4 + length:
            return
        Raw.seen.append(self.received[: end + 4 + length])
        self.received = self.received[end + 4 + length :]
        answer, close = Raw.answers.pop(0)
        self.transport.write(answer)
        if close:
            self.transport.close()


def closing(answer: bytes) -> tuple[bytes, bool]:
    """An answer after which the server closes the connection."""
    return (answer, True)


async def serve(*answers: bytes | tuple[bytes, bool]) -> AsyncIterator[str]:
    """The server's URL while it answers with ``answers``, in order (use as ``async for``)."""
    Raw.answers = [a if isinstance(a, tuple) else (a, False) for a in answers]
    Raw.opened, Raw.seen = 0, []
    server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/x"
    finally:
        server.close()
        await server.wait_closed()

"""The upstream client's sockets: httpcore's network backend on asyncio's own transports
(uvloop's, where it runs), in place of the anyio streams httpx uses by default.

Under load (py-spy, ``bench/overhead.py``) about a third of the gateway's CPU went to the
upstream client, much of it in three places this backend removes:

- anyio's stream layer on every read and write (a checkpoint, a send guard, and the whole
  attribute table built again for each ``get_extra_info``);
- a poll(2) per idle pooled connection on every request: httpcore asks each whether its
  server has closed it (``is_readable``), which the protocol here knows without a syscall;
- a send for the request's head and another for its body: writes are held until the answer
  is first read and go out in one send (a large body is sent as it comes).

httpcore's calls and errors are the same: a failure to connect or to set up TLS is its
`ConnectError` (`ConnectTimeout`), a broken read `ReadError` (`ReadTimeout`), a write
`WriteError` (`WriteTimeout`), as its anyio backend maps them, so httpx raises what it raised
before and `_classify` reads it the same.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any

import httpcore

__all__ = ["Backend"]

HOLD = 64 * 1024  # bytes of a request held for one send; a larger body is sent as it comes
HIGH_WATER = 256 * 1024  # bytes read ahead of the client before the socket is paused


class _Protocol(asyncio.Protocol):
    """What the socket delivered, and whether it is still open, for `_Stream` to read."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self.reading = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and self.reading and self.transport is not None:
            self.transport.pause_reading()
            self.reading = False
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        if len(self.buffer) <= max_bytes:
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:max_bytes])
            del self.buffer[:max_bytes]
        if not self.reading and len(self.buffer) <= HIGH_WATER // 2 and self.transport:
            self.transport.resume_reading()
            self.reading = True
        return data


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._held:
            await self._send_held()
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            waiter = asyncio.get_running_loop().create_future()
            protocol.waiter = waiter
            try:
                if timeout is None:  # httpx's read timeout is off: `Deadlines` bounds reads
                    await waiter
                else:
                    async with asyncio.timeout(timeout):
                        await waiter
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading the answer") from None
            finally:
                protocol.waiter = None
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._held.append(buffer)
        self._held_bytes += len(buffer)
        self._write_timeout = timeout
        if self._held_bytes >= HOLD:
            await self._send_held()

    async def _send_held(self) -> None:
        held, self._held, self._held_bytes = self._held, [], 0
        try:
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))
        except RuntimeError:  # closed under us; the read that follows says how
            return
        drained = self._protocol.drained
        if drained is not None:
            try:
                async with asyncio.timeout(self._write_timeout):
                    await asyncio.shield(drained)
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out sending the request") from None

    async def aclose(self) -> None:
        self._held.clear()
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                secured = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out setting up TLS") from None
        except (ssl.SSLError, OSError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if secured is None:
            raise httpcore.ConnectError("the connection closed while setting up TLS")
        self._protocol.transport = secured
        return _Stream(secured, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks this of an idle pooled connection: has the server closed it (or
            # sent what it should not have)? Known here without asking the socket.
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.eof or self._transport.is_closing()
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        return self._transport.get_extra_info(names[info]) if info in names else None


class Backend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            made, protocol = await _connected(
                loop.create_connection(_Protocol, host, port, local_addr=local), timeout
            )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        try:
            _options(made, socket_options)
        except BaseException:
            made.close()
            raise
        return _Stream(made, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            made, protocol = await _connected(loop.create_unix_connection(_Protocol, path), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        _options(made, socket_options)
        return _Stream(made, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    connecting: Coroutine[Any, Any, tuple[asyncio.Transport, _Protocol]],
    timeout: float | None,  # noqa: ASYNC109  (httpcore's interface passes it down)
) -> tuple[asyncio.Transport, _Protocol]:
    """A connection, within ``timeout``. A timeout or a cancellation that comes just as the
    connection is made (its result set, the waiting task not yet resumed) would drop the
    made transport unclosed, and with it a socket: the attempt runs as a task of its own,
    and whatever it makes after it was given up is closed."""
    attempt = asyncio.ensure_future(connecting)
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.shield(attempt)
    except BaseException:
        attempt.cancel()
        attempt.add_done_callback(_close_made)
        raise


def _close_made(attempt: asyncio.Future[tuple[asyncio.Transport, _Protocol]]) -> None:
    if not attempt.cancelled() and attempt.exception() is None:
        attempt.result()[0].close()


def _options(
    made: asyncio.Transport, socket_options: Iterable[httpcore.SOCKET_OPTION] | None
) -> None:
    sock = made.get_extra_info("socket")
    if sock is None:
        return
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # A request's one send leaves at once, never waiting on the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for option in socket_options or ():
        sock.setsockopt(*option)

"""The upstream client's connection pool: idle HTTP/1.1 connections kept per origin, the most
recently used first, taken and given back in constant time.

httpcore's pool (what httpx uses by default) scans every connection it holds, several times,
on each request and again when each answer is closed: with the turns of a busy gateway in
flight, that scan cost about a tenth of the gateway's CPU (py-spy, ``bench/overhead.py`` at
concurrency 32). This pool does what httpx asks of httpcore's (``handle_async_request``,
``aclose``) on httpcore's own connections (`httpcore.AsyncHTTPConnection`: connecting, TLS,
HTTP/1.1, its errors), on the sockets of `_sockets`, with the limits clawgate sets: no cap on
connections, `keepalive` of them kept idle, each for ``keepalive_expiry`` seconds.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import httpcore
import httpx

from clawgate.providers._sockets import Backend

if TYPE_CHECKING:
    from clawgate.providers._http11 import Http11

try:  # the extra `speed`: the answers read by its parser (`_http11`), else by h11
    import httptools  # noqa: F401

    _HTTPTOOLS = True
except ImportError:  # pragma: no cover - the tests run both (tests/gateway/test_event_loop.py)
    _HTTPTOOLS = False

__all__ = ["Pool", "transport"]

_Key = tuple[bytes, bytes, int]  # scheme, host, port: an origin (httpcore's is not hashable)


def transport(
    limits: httpx.Limits, *, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its defaults (TLS verification, the environment's settings),
    on this pool and `_sockets`. A proxy from the environment is httpx's own transport."""
    made = httpx.AsyncHTTPTransport(limits=limits, verify=verify)
    stock = made._pool  # what httpx set up: its TLS context and limits are kept
    made._pool = Pool(  # type: ignore[assignment]
        ssl_context=stock._ssl_context,
        keepalive=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )
    return made


class Pool:
    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        keepalive: int | None,
        keepalive_expiry: float | None,
    ) -> None:
        self._ssl_context = ssl_context
        if ssl_context is not None:
            ssl_context.set_alpn_protocols(["http/1.1"])  # the only one spoken here
        self._keepalive = keepalive
        self._keepalive_expiry = keepalive_expiry
        self._backend = Backend()
        self._idle: dict[_Key, list[httpcore.AsyncConnectionInterface]] = {}
        self._idle_count = 0
        self._busy: set[httpcore.AsyncConnectionInterface] = set()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        if url.scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme.decode()}://'."
            )
        key = (url.scheme, url.host, url.port or (443 if url.scheme == b"https" else 80))
        for _ in range(2):  # a second time only if the first connection was not available
            connection = await self._take(key, url.origin, request)
            self._busy.add(connection)
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:
                self._busy.discard(connection)
                continue
            except BaseException:
                self._busy.discard(connection)
                with anyio.CancelScope(shield=True):
                    await connection.aclose()
                raise
            stream = _Answer(response.stream, self, key, connection)
            return httpcore.Response(
                status=response.status,
                headers=response.headers,
                content=stream,
                extensions=response.extensions,
            )
        raise httpcore.ConnectionNotAvailable()

    async def _take(
        self, key: _Key, origin: httpcore.Origin, request: httpcore.Request
    ) -> httpcore.AsyncConnectionInterface:
        """The most recently used idle connection still good, else a new one."""
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            # has_expired: past keepalive_expiry, or the server closed it (`_sockets` knows).
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()
        if not _HTTPTOOLS:  # httpcore's own connection (h11), which connects as it is used
            return httpcore.AsyncHTTPConnection(
                origin=origin,
                ssl_context=self._ssl_context,
                keepalive_expiry=self._keepalive_expiry,
                network_backend=self._backend,
            )
        return await self._connect(origin, request)

    async def _connect(self, origin: httpcore.Origin, request: httpcore.Request) -> Http11:
        """A new connection to ``origin``: TCP, then TLS for https (ALPN http/1.1, the
        request's ``sni_hostname`` if it names one), as httpcore's connection makes it."""
        from clawgate.providers._http11 import Http11

        timeout = request.extensions.get("timeout", {}).get("connect")
        host = origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, origin.port, timeout)
        if origin.scheme == b"https":
            context = self._ssl_context or httpcore.default_ssl_context()
            sni = request.extensions.get("sni_hostname")
            stream = await stream.start_tls(context, server_hostname=sni or host, timeout=timeout)
        return Http11(origin, stream, self._keepalive_expiry)

    async def _give_back(self, key: _Key, connection: httpcore.AsyncConnectionInterface) -> None:
        self._busy.discard(connection)
        # Kept is the HTTP/1.1 connection itself, once made: its wrapper only connects, and
        # takes a lock on every request to see that it need not.
        connection = getattr(connection, "_connection", None) or connection
        if connection.is_idle() and (self._keepalive is None or self._idle_count < self._keepalive):
            self._idle.setdefault(key, []).append(connection)
            self._idle_count += 1
            return
        await connection.aclose()

    def _everyone(self) -> Iterable[httpcore.AsyncConnectionInterface]:
        yield from self._busy
        for idle in self._idle.values():
            yield from idle

    async def aclose(self) -> None:
        everyone = list(self._everyone())
        self._busy.clear()
        self._idle.clear()
        self._idle_count = 0
        for connection in everyone:
            await connection.aclose()

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


class _Answer:
    """An answer's body; when it is closed its connection goes back to the pool (or is
    closed, if it cannot take another request)."""

    def __init__(
        self, stream: Any, pool: Pool, key: _Key, connection: httpcore.AsyncConnectionInterface
    ) -> None:
        self._stream = stream
        self._pool = pool
        self._key = key
        self._connection = connection
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Shielded, as httpcore's pool does: a cancelled turn still leaves its connection
        # either idle and reusable, or closed; never half-read and open.
        with anyio.CancelScope(shield=True):
            await self._stream.aclose()
            await self._pool._give_back(self._key, self._connection)

"""The upstream client's HTTP/1.1 connection: httpcore's connection interface, with the
response read by httptools' parser (llhttp, in C; the gateway's server side already uses it)
instead of h11 (pure Python) under httpcore's connection, its state lock and its shields.

A turn's upstream call was the largest part of the gateway's CPU left (py-spy under
``bench/overhead.py``: httpcore's HTTP/1.1 connection and h11 about an eighth of it). What
httpx sees is what it saw: an `httpcore.Response` whose stream yields the body, decoded from
its framing (RFC 9112 section 6: Content-Length, chunked, or until the server closes); the
errors are httpcore's (`RemoteProtocolError` for an answer that is not HTTP or ends early,
`ReadError`/`WriteError` from `_sockets`), so the classifier reads them as before.

A connection carries one request at a time; after an answer read to its end, with keep-alive
on both sides, it is idle and may carry the next (`Pool` keeps it), else it is closed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httptools

__all__ = ["Http11"]

READ_SIZE = 64 * 1024
_FORBIDDEN = frozenset(b"\r\n\x00")  # in a header: would end it, or start another


class Http11(httpcore.AsyncConnectionInterface):
    def __init__(
        self,
        origin: httpcore.Origin,
        stream: httpcore.AsyncNetworkStream,
        keepalive_expiry: float | None = None,
    ) -> None:
        self._origin = origin
        self._stream = stream
        self._keepalive_expiry = keepalive_expiry
        self._expire_at: float | None = None
        self._active = False
        self._closed = False
        self._requests = 0

    # What the pool asks --------------------------------------------------------------------

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self._origin

    def is_available(self) -> bool:
        return self.is_idle()

    def is_idle(self) -> bool:
        return not self._active and not self._closed

    def is_closed(self) -> bool:
        return self._closed

    def has_expired(self) -> bool:
        """Past its keep-alive time, or the server closed it (or sent what it should not
        have) while it was idle: `_sockets` knows without a syscall."""
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        return not self._active and bool(self._stream.get_extra_info("is_readable"))

    def info(self) -> str:
        state = "CLOSED" if self._closed else "ACTIVE" if self._active else "IDLE"
        return f"HTTP/1.1, {state}, Request Count: {self._requests}"

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._stream.aclose()

    # One request -----------------------------------------------------------------------------

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._active or self._closed:
            raise httpcore.ConnectionNotAvailable()
        self._active = True
        self._expire_at = None
        self._requests += 1
        timeouts = request.extensions.get("timeout", {})
        try:
            await self._send(request, timeouts.get("write"))
            answer = _Answer(self, request.method == b"HEAD", timeouts.get("read"))
            await answer.head()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.aclose()
            raise
        return httpcore.Response(
            status=answer.status,
            headers=answer.headers,
            content=answer,
            extensions={
                "http_version": answer.version,
                "reason_phrase": answer.reason,
                "network_stream": self._stream,
            },
        )

    async def _send(self, request: httpcore.Request, timeout: float | None) -> None:  # noqa: ASYNC109
        url = request.url
        head = [request.method, b" ", url.target, b" HTTP/1.1\r\n"]
        chunked = False
        for name, value in request.headers:
            if _FORBIDDEN.intersection(name) or _FORBIDDEN.intersection(value):
                raise httpcore.LocalProtocolError("Illegal header name or value")
            head += (name, b": ", value, b"\r\n")
            chunked = chunked or (
                name.lower() == b"transfer-encoding" and value.lower() == b"chunked"
            )
        head.append(b"\r\n")
        try:
            await self._stream.write(b"".join(head), timeout)
            body = request.stream
            assert isinstance(body, AsyncIterable), "httpx gives an async client a byte stream"
            async for part in body:
                if chunked and part:
                    await self._stream.write(b"%x\r\n%s\r\n" % (len(part), part), timeout)
                elif part:
                    await self._stream.write(part, timeout)
            if chunked:
                await self._stream.write(b"0\r\n\r\n", timeout)
        except httpcore.WriteError:
            # The server may have closed its side early and answered anyway (a 413, a 401):
            # the read that follows says which.
            pass

    def _finished(self, reusable: bool) -> None:
        """The answer was read to its end (``reusable``: with keep-alive on both sides; if
        not, the caller closes the connection next)."""
        self._active = False
        if reusable and self._keepalive_expiry is not None:
            self._expire_at = time.monotonic() + self._keepalive_expiry


class _Answer:
    """One response: its head, read by `head`, then its body as httpx iterates it. httptools
    calls the ``on_*`` methods while it parses."""

    def __init__(self, connection: Http11, head_only: bool, timeout: float | None) -> None:
        self._connection = connection
        self._stream = connection._stream
        self._timeout = timeout
        self._head_only = head_only  # an answer to HEAD: no body, whatever its length says
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.version = b"HTTP/1.1"
        self.headers: list[tuple[bytes, bytes]] = []
        self._headed = False
        self._parts: list[bytes] = []
        self._complete = False
        self._until_close = False  # no length, not chunked: the body ends when the server closes
        self._keep_alive = False  # said at the message's end, which an until-close body has not
        self._done = False

    # httptools' callbacks
    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.headers, self.reason = [], b""  # an interim answer: the real one follows
            return
        self.status = status
        self.version = b"HTTP/" + self._parser.get_http_version().encode()
        self._headed = True
        names = {name.lower() for name, _ in self.headers}
        self._until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and status not in (204, 304)
        )

    def on_body(self, body: bytes) -> None:
        self._parts.append(body)

    def on_message_complete(self) -> None:
        if self._headed:
            self._complete = True
            # Asked now: once this returns, the parser starts over for a next message.
            self._keep_alive = self._parser.should_keep_alive()

    async def _more(self) -> bool:
        """Read and parse what comes next; False when the server has closed."""
        data = await self._stream.read(READ_SIZE, self._timeout)
        if not data:
            return False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise httpcore.RemoteProtocolError(f"malformed answer: {exc}") from None
        except httptools.HttpParserUpgrade:
            raise httpcore.RemoteProtocolError("the server switched protocols") from None
        return True

    async def head(self) -> None:
        while not self._headed:
            if not await self._more():
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response."
                )
        if self._head_only:
            self._complete = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._head_only:
            self._parts.clear()
        while True:
            if self._parts:
                parts, self._parts = self._parts, []
                yield parts[0] if len(parts) == 1 else b"".join(parts)
            if self._complete:
                break
            if not await self._more():
                if self._until_close:
                    self._complete = True  # its end, and the connection's
                    continue
                raise httpcore.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )

    async def aclose(self) -> None:
        if self._done:
            return
        self._done = True
        reusable = self._complete and self._keep_alive
        self._connection._finished(reusable)
        if not reusable:
            await self._connection.aclose()

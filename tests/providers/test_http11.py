"""The upstream client's HTTP/1.1 connection on httptools' parser (`providers._http11`), through
httpx as the providers use it, against a raw server that answers each request with bytes the
test writes: every way a body is framed (RFC 9112 section 6), an interim answer, and every way
an answer goes wrong, each the error httpx raised with httpcore's own connection (h11), and
whether the connection is used again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from clawgate.providers._pool import transport
from tests.providers.raw import Raw, closing, serve

pytestmark = pytest.mark.anyio


async def client(
    *answers: bytes | tuple[bytes, bool],
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async for url in serve(*answers):
        async with httpx.AsyncClient(transport=transport(httpx.Limits())) as http:
            yield http, url


OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b"6\r\ndata: \r\n5\r\nhello\r\n2\r\n\n\n\r\n0\r\n\r\n"
)


async def test_a_kept_alive_connection_carries_the_next_requests() -> None:
    async for http, url in client(OK, CHUNKED, OK):
        first = await http.post(url, json={"a": 1})
        assert (first.status_code, first.json()) == (200, {"ok": True})
        assert first.http_version == "HTTP/1.1"
        assert first.reason_phrase == "OK"
        assert (await http.post(url, json={})).text == "data: hello\n\n"  # chunks joined
        assert (await http.get(url)).json() == {"ok": True}
    assert Raw.opened == 1
    request = Raw.seen[0]
    assert request.startswith(b"POST /v1/x HTTP/1.1\r\n")
    assert b"\r\ncontent-length: 7\r\n" in request.lower()
    assert request.endswith(b'\r\n\r\n{"a":1}')


async def test_a_body_that_ends_when_the_server_closes_is_whole_and_its_connection_not_reused() -> (
    None
):
    until_close = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it"
    async for http, url in client(closing(until_close), OK):
        assert (await http.get(url)).text == "all of it"
        assert (await http.get(url)).json() == {"ok": True}
    assert Raw.opened == 2


async def test_an_interim_answer_is_passed_over() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n"
    async for http, url in client(early + OK):
        answer = await http.get(url)
        assert (answer.status_code, answer.json()) == (200, {"ok": True})
        assert "link" not in answer.headers


async def test_a_server_that_says_close_gets_a_new_connection_next_time() -> None:
    closing = OK.replace(b"content-length", b"connection: close\r\ncontent-length")
    async for http, url in client(closing, OK):
        assert (await http.get(url)).json() == {"ok": True}
        assert (await http.get(url)).json() == {"ok": True}
    assert Raw.opened == 2


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"", "Server disconnected without sending a response"),
        (b"this is not HTTP\r\n\r\n", "malformed answer"),
        (OK[:-4], "peer closed connection without sending complete message body"),
        (CHUNKED[:-5], "peer closed connection without sending complete message body"),
    ],
    ids=["closed-before-answering", "not-http", "short-body", "chunks-cut"],
)
async def test_an_answer_that_goes_wrong_is_a_remote_protocol_error(
    answer: bytes, said: str
) -> None:
    async for http, url in client(closing(answer), OK):
        with pytest.raises(httpx.RemoteProtocolError, match=said):
            await http.get(url)
        assert (await http.get(url)).json() == {"ok": True}  # on a new connection
    assert Raw.opened == 2


async def test_a_header_that_would_end_itself_is_refused_before_anything_is_sent() -> None:
    async for http, url in client(OK):
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(url, headers={"x-injected": "a\r\nx-evil: 1"})
    assert Raw.seen == []


async def test_an_answer_left_before_its_end_closes_its_connection() -> None:
    async for http, url in client(CHUNKED[:-5], OK):  # the rest of the body never comes
        async with http.stream("GET", url) as answer:
            assert answer.status_code == 200  # and is not waited for
        assert (await http.get(url)).json() == {"ok": True}
    assert Raw.opened == 2

"""Slow clients through a real uvicorn, on deadlines made small for the test: half a request's
headers, or half its body, is answered 408 in its surface's shape and the connection closed;
a connection that says nothing is closed; each request on a kept-alive connection has its
own deadline; and how long the answer takes is not limited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pydantic
import pytest

from clawgate.config import Settings
from tests.fakes.model_api import FakeModelAPI, Reply, chat_json
from tests.gateway.inprocess import TOKEN, local_gateway
from tests.gateway.running import config
from tests.gateway.served import Served, served

pytestmark = pytest.mark.anyio

BOUND = 10.0  # seconds: a safety net for a broken test, never waited out when all is well
HEADERS, BODY = 0.2, 0.3  # the deadlines under test, in seconds


@pytest.fixture
async def server(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Served]:
    document = config(api.url)
    document["gateway"].update(headerTimeout=HEADERS, bodyTimeout=BODY)
    async with (
        local_gateway(tmp_path / "state", api, document) as local,
        served(local.app, local.gateway.config.settings) as running,
    ):
        yield running
        assert running.errors == []  # nothing escaped the app


async def to_the_end(client: anyio.abc.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    with anyio.fail_after(BOUND):
        while True:
            try:
                received += await client.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return received


def answer(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (li.partition(":") for li in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def request_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {TOKEN}\r\n"
        f"content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


async def test_half_the_headers_is_a_408_and_the_connection_closed(server: Served) -> None:
    client = await server.connect()
    await client.send(b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthoriza")
    status, headers, body = answer(await to_the_end(client))
    assert (status, headers["connection"]) == (408, "close")
    assert body["error"]["code"] == "request_timeout"
    assert "headers did not arrive within 0.2 s" in body["error"]["message"]
    assert "gateway.headerTimeout" in body["error"]["message"]
    await client.aclose()


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic")],
)
async def test_half_the_body_is_a_408_in_the_surface_shape(
    server: Served, path: str, shape: str
) -> None:
    client = await server.connect()
    await client.send(request_head(path, 100) + b'{"model": ')
    status, headers, body = answer(await to_the_end(client))
    assert (status, headers["connection"]) == (408, "close")
    if shape == "anthropic":
        assert body["type"] == "error"
        message = body["error"]["message"]
    else:
        assert body["error"]["code"] == "request_timeout"
        message = body["error"]["message"]
    assert "body did not arrive within 0.3 s" in message
    assert "gateway.bodyTimeout" in message
    with anyio.fail_after(BOUND):  # the app's request, waiting for the body, has ended
        assert await server.ended.receive() == path
    await client.aclose()


async def test_a_connection_that_says_nothing_is_closed_without_a_word(server: Served) -> None:
    client = await server.connect()
    assert await to_the_end(client) == b""
    await client.aclose()


async def test_each_request_on_a_kept_alive_connection_has_its_own_deadline(
    server: Served,
) -> None:
    client = await server.connect()
    received = b""
    for _ in range(3):  # whole requests, one after the other, are answered
        await client.send(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        with anyio.fail_after(BOUND):
            while not received.endswith(b'{"ok":true}'):
                received += await client.receive()
        assert received.startswith(b"HTTP/1.1 200 ")
        received = b""
    await client.send(b"GET /heal")  # then half of one
    status, _, body = answer(await to_the_end(client))
    assert status == 408
    assert "headerTimeout" in body["error"]["message"]
    await client.aclose()


async def test_an_answer_may_take_longer_than_both_deadlines(
    server: Served, api: FakeModelAPI
) -> None:
    api.script(Reply(body=chat_json(), delay=(HEADERS + BODY) * 2))
    async with httpx.AsyncClient(base_url=server.url) as http:
        reply = await http.post(
            "/v1/chat/completions",
            json={"model": "up/m", "messages": [{"role": "user", "content": "Say hello."}]},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == "Hello there"


def test_the_deadlines_default_to_10_and_30_seconds_and_must_be_positive() -> None:
    gateway = Settings().gateway
    assert (gateway.header_timeout, gateway.body_timeout) == (10, 30)
    for key in ("headerTimeout", "bodyTimeout"):
        with pytest.raises(pydantic.ValidationError, match=key):
            Settings.model_validate({"gateway": {key: 0}})

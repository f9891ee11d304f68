"""Upstream connections: after a burst of calls at once, the next burst of the same size
opens no new connection (httpx's default kept only 20 idle, so every call past the 20th
closed its connection and the next one paid a new handshake); and more than 100 calls at
once each get one (httpx's default cap of 100 queued the rest until the pool timeout)."""

from __future__ import annotations

import asyncio
import json

import pytest

from clawgate.config import Timeouts
from clawgate.providers import Classifier
from clawgate.providers._http import HttpTransport

pytestmark = pytest.mark.anyio

BODY = json.dumps({"ok": True}).encode()
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


class Upstream(asyncio.Protocol):
    """Keep-alive HTTP/1.1 that holds each answer until a whole burst has asked, so the burst
    really is ``burst`` calls at once on ``burst`` connections."""

    opened = 0
    burst = 0
    waiting: list[asyncio.Transport]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Upstream.opened += 1
        self.transport = transport
        self.received = b""

    def data_received(self, data: bytes) -> None:
        self.received += data
        if not self.received.endswith(b"\r\n\r\n{}"):  # the request's body is {}
            return
        self.received = b""
        Upstream.waiting.append(self.transport)  # type: ignore[arg-type]
        if len(Upstream.waiting) == Upstream.burst:
            for transport in Upstream.waiting:
                transport.write(ANSWER)
            Upstream.waiting = []


async def bursts(size: int, rounds: int) -> int:
    """``rounds`` bursts of ``size`` calls at once through one transport; the connections
    the upstream saw opened."""
    Upstream.opened, Upstream.burst, Upstream.waiting = 0, size, []
    server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", 0, backlog=size)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    transport = HttpTransport(
        Classifier("openai", "log in again"), Timeouts(connect=5, first_token=5, idle=5, total=10)
    )

    async def call() -> dict[str, object]:
        async with transport.exchange("POST", url, json_body={}) as exchange:
            return await exchange.json()

    try:
        for _ in range(rounds):
            answers = await asyncio.gather(*(call() for _ in range(size)))
            assert answers == [{"ok": True}] * size
        return Upstream.opened
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()


async def test_a_second_burst_reuses_the_first_bursts_connections() -> None:
    assert await bursts(40, rounds=2) == 40  # more than httpx's 20 kept alive


async def test_more_than_a_hundred_calls_at_once_each_get_a_connection() -> None:
    assert await bursts(150, rounds=1) == 150

"""The upstream client (`providers._sockets`, `providers._pool`): a request leaves in one
send, an idle connection its server closed is not reused, TLS works, a large body arrives
whole, failures are httpx's usual exceptions; the pool keeps at most its keep-alive idle and
never hands out a cancelled call's connection. Real loopback servers; the client as the
gateway builds it."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clawgate.providers import _pool, _sockets
from clawgate.providers._http import UPSTREAM_LIMITS

pytestmark = pytest.mark.anyio

ANSWER = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
)


class Upstream(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with Content-Length bodies; records how each request arrived
    (the data_received calls it took) and can close each connection after answering."""

    def __init__(
        self, log: list[list[bytes]], opened: list[int], closed: asyncio.Event, close_after: bool
    ) -> None:
        self.log, self.opened, self.closed = log, opened, closed
        self.close_after = close_after
        self.pieces: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.opened.append(1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        self.pieces.append(data)
        whole = b"".join(self.pieces)
        head, sep, body = whole.partition(b"\r\n\r\n")
        if not sep:
            return
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        if len(body) < length:
            return
        self.log.append(self.pieces)
        self.pieces = []
        self.transport.write(ANSWER)
        if self.close_after:
            self.transport.close()  # no "Connection: close": the client finds out itself


Served = tuple[str, list[list[bytes]], list[int], asyncio.Event]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., object]]:
    servers: list[asyncio.Server] = []

    async def start(*, close_after: bool = False, tls: ssl.SSLContext | None = None) -> Served:
        log: list[list[bytes]] = []
        opened: list[int] = []
        closed = asyncio.Event()
        server = await asyncio.get_running_loop().create_server(
            lambda: Upstream(log, opened, closed, close_after), "127.0.0.1", 0, ssl=tls
        )
        servers.append(server)
        scheme = "https" if tls else "http"
        port = server.sockets[0].getsockname()[1]
        return f"{scheme}://localhost:{port}/v1", log, opened, closed

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def client(verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=_pool.transport(UPSTREAM_LIMITS, verify=verify))


async def test_a_request_head_and_body_leave_in_one_send(serve: Callable[..., object]) -> None:
    url, log, opened, _ = await serve()  # type: ignore[misc]
    async with client() as http:
        for _ in range(3):
            answer = await http.post(url, json={"messages": ["hi"] * 20})
            assert answer.json() == {"ok": True}
    assert [len(pieces) for pieces in log] == [1, 1, 1]
    assert len(opened) == 1  # kept alive


async def test_a_large_body_arrives_whole(serve: Callable[..., object]) -> None:
    url, log, _, _ = await serve()  # type: ignore[misc]
    body = b"x" * (3 * _sockets.HOLD + 17)
    async with client() as http:
        answer = await http.post(url, content=body)
    assert answer.status_code == 200
    assert b"".join(log[0]).endswith(b"\r\n\r\n" + body)


async def test_an_idle_connection_the_server_closed_is_not_reused(
    serve: Callable[..., object],
) -> None:
    url, log, opened, closed = await serve(close_after=True)  # type: ignore[misc]
    async with client() as http:
        for _ in range(3):
            answer = await http.post(url, json={})
            assert answer.json() == {"ok": True}
            await closed.wait()  # the server's side is closed: its FIN is on the way
            closed.clear()
            await asyncio.sleep(0)  # one pass of the loop, which reads it on the client's
    assert len(opened) == 3
    assert len(log) == 3


async def test_tls(serve: Callable[..., object], tmp_path: Path) -> None:
    server_side, trusted = _self_signed(tmp_path)
    url, log, _, _ = await serve(tls=server_side)  # type: ignore[misc]
    async with client(verify=trusted) as http:
        answer = await http.post(url, json={"over": "tls"})
        assert answer.json() == {"ok": True}
        again = await http.post(url, json={"over": "tls"})
        assert again.status_code == 200
    assert len(log) == 2
    async with client() as http:  # the system's CAs do not know this certificate
        with pytest.raises(httpx.ConnectError):
            await http.post(url, json={})


async def test_nothing_listening_is_a_connect_error() -> None:
    probe = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_file, key_file)
    trusted = ssl.create_default_context(cafile=str(cert_file))
    return server_side, trusted


# --- the pool (`providers._pool`) -------------------------------------------------------------


class Held(asyncio.Protocol):
    """Answers only when ``release`` is set: requests held in flight, on connections open.
    Each request that arrives is counted in ``arrived`` and sets ``news``."""

    def __init__(self, server: HeldServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.server.opened += 1

    def data_received(self, data: bytes) -> None:
        if data.endswith(b"\r\n\r\n{}"):
            self.server.arrived += 1
            self.server.news.set()
            asyncio.get_running_loop().create_task(self.answer())

    async def answer(self) -> None:
        await self.server.release.wait()
        if not self.transport.is_closing():
            self.transport.write(ANSWER)


class HeldServer:
    def __init__(self) -> None:
        self.url = ""
        self.opened = 0
        self.arrived = 0
        self.news = asyncio.Event()
        self.release = asyncio.Event()

    async def until_arrived(self, count: int) -> None:
        while self.arrived < count:
            self.news.clear()
            await self.news.wait()


@pytest.fixture
async def held() -> AsyncIterator[HeldServer]:
    state = HeldServer()
    server = await asyncio.get_running_loop().create_server(lambda: Held(state), "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    yield state
    state.release.set()
    server.close()
    await server.wait_closed()


async def test_the_pool_keeps_at_most_its_keepalive_idle(held: HeldServer) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=2)
    async with httpx.AsyncClient(transport=_pool.transport(limits)) as http:
        for burst in range(2):
            held.release.clear()
            calls = [asyncio.create_task(http.post(held.url, json={})) for _ in range(5)]
            await held.until_arrived(5 * (burst + 1))  # all five in flight at once
            held.release.set()
            assert [r.status_code for r in await asyncio.gather(*calls)] == [200] * 5
    assert held.opened == 5 + 3  # the second burst reused the 2 kept idle


async def test_a_cancelled_call_closes_its_connection_and_the_next_gets_another(
    held: HeldServer,
) -> None:
    async with httpx.AsyncClient(transport=_pool.transport(UPSTREAM_LIMITS)) as http:
        call = asyncio.create_task(http.post(held.url, json={}))
        await held.until_arrived(1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        held.release.set()
        answer = await http.post(held.url, json={})
        assert answer.json() == {"ok": True}
    assert held.opened == 2  # the cancelled call's connection was not handed out again

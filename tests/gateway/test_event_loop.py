"""The gateway's event loop and HTTP parser: uvloop and httptools where they are installed,
the stdlib loop and h11 where they are not, and a turn (plain and streamed) is answered the
same on each; the slow-client deadlines hold on the h11 fallback too (test_slow_clients.py
runs them on the default). Which loop and parser a gateway process runs is read from the
process itself: their extensions are mapped into it or not."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from clawgate.gateway._serve import loop_factory
from clawgate.gateway._timeouts import SlowClients, slow_clients
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import TOKEN, local_gateway
from tests.gateway.running import RunningGateway, config, start_gateway
from tests.gateway.served import Served, served

HELLO = [{"role": "user", "content": "Say hello."}]


def runs_uvloop(pid: int) -> bool:
    return "uvloop/loop." in Path(f"/proc/{pid}/maps").read_text()


def runs_httptools(pid: int) -> bool:
    return "httptools/parser/parser." in Path(f"/proc/{pid}/maps").read_text()


def without_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import httptools` raises ImportError here, as on a platform without its wheels."""
    monkeypatch.setitem(sys.modules, "httptools", None)
    monkeypatch.delitem(sys.modules, "uvicorn.protocols.http.httptools_impl", raising=False)


def test_uvloop_when_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = loop_factory()()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_the_stdlib_loop_when_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    assert loop_factory() is asyncio.new_event_loop


def test_httptools_when_installed() -> None:
    httptools_impl = pytest.importorskip("uvicorn.protocols.http.httptools_impl")
    assert issubclass(slow_clients(1, 2), httptools_impl.HttpToolsProtocol)


def test_h11_when_httptools_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    without_httptools(monkeypatch)
    protocol = slow_clients(1, 2)
    assert issubclass(protocol, SlowClients)
    assert (protocol.header_timeout, protocol.body_timeout) == (1, 2)  # type: ignore[attr-defined]


@pytest.fixture(params=["default", "without uvloop", "without httptools"])
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, api: FakeModelAPI
) -> Iterator[RunningGateway]:
    environ = {}
    if request.param != "default":
        # A module that cannot be imported, first on the gateway's path: the process sees
        # what a platform without that package's wheels sees.
        name = request.param.removeprefix("without ")
        shim = tmp_path / "shim"
        shim.mkdir()
        (shim / f"{name}.py").write_text(f"raise ImportError('no {name} on this platform')\n")
        environ["PYTHONPATH"] = str(shim)
    running = start_gateway(tmp_path / "state", api, environ=environ)
    yield running
    running.stop()


def test_a_turn_is_answered_on_either_loop_and_parser(
    gateway: RunningGateway, request: pytest.FixtureRequest
) -> None:
    param = request.node.callspec.params["gateway"]
    assert runs_uvloop(gateway.process.pid) is (param != "without uvloop" and _has_uvloop())
    has_httptools = _has("httptools")
    assert runs_httptools(gateway.process.pid) is (param != "without httptools" and has_httptools)
    with gateway.client() as client:
        plain = client.chat.completions.create(model="up/m", messages=HELLO)  # type: ignore[arg-type]
        assert plain.choices[0].message.content
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(
                model="up/m",
                messages=HELLO,  # type: ignore[arg-type]
                stream=True,
            )
            if chunk.choices
        )
    assert text == plain.choices[0].message.content


def _has_uvloop() -> bool:
    return _has("uvloop")


def _has(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@pytest.fixture
async def h11_server(
    tmp_path: Path, api: FakeModelAPI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    without_httptools(monkeypatch)
    document = config(api.url)
    document["gateway"].update(headerTimeout=0.2, bodyTimeout=0.3)
    async with (
        local_gateway(tmp_path / "state", api, document) as local,
        served(local.app, local.gateway.config.settings) as running,
    ):
        yield running


@pytest.mark.anyio
async def test_the_deadlines_hold_on_the_h11_fallback(h11_server: Served) -> None:
    for sent, what in (
        (b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthoriza", "headers"),
        (
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n"
            + f"authorization: Bearer {TOKEN}\r\n".encode()
            + b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{",
            "body",
        ),
    ):
        client = await h11_server.connect()
        await client.send(sent)
        received = b""
        with anyio.fail_after(10):  # a safety net, never waited out when all is well
            while True:
                try:
                    received += await client.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    break
        await client.aclose()
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert f"request's {what} did not arrive" in json.loads(body)["error"]["message"]

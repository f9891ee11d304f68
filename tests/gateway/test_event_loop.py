"""The gateway's event loop: uvloop where it is installed, the stdlib loop where it is not,
and a turn (plain and streamed) is answered the same on either. Which loop a gateway process
runs is read from the process itself: uvloop's extension is mapped into it or not."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawgate.gateway._serve import loop_factory
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway

HELLO = [{"role": "user", "content": "Say hello."}]


def runs_uvloop(pid: int) -> bool:
    return "uvloop/loop." in Path(f"/proc/{pid}/maps").read_text()


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


@pytest.fixture(params=["default", "without uvloop"])
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, api: FakeModelAPI
) -> Iterator[RunningGateway]:
    environ = {}
    if request.param == "without uvloop":
        # A module named uvloop that cannot be imported, first on the gateway's path: the
        # process sees what a platform without uvloop's wheels sees.
        shim = tmp_path / "shim"
        shim.mkdir()
        (shim / "uvloop.py").write_text("raise ImportError('no uvloop on this platform')\n")
        environ["PYTHONPATH"] = str(shim)
    running = start_gateway(tmp_path / "state", api, environ=environ)
    yield running
    running.stop()


def test_a_turn_is_answered_on_either_loop(
    gateway: RunningGateway, request: pytest.FixtureRequest
) -> None:
    expected = request.node.callspec.params["gateway"] == "default" and _has_uvloop()
    assert runs_uvloop(gateway.process.pid) is expected
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
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True

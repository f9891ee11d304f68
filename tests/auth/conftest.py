from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from clawgate.auth.oauth import LoginTools
from clawgate.clock import ManualClock
from tests.auth.login_ui import ScriptedUI
from tests.fakes.github import FakeGitHub
from tests.fakes.server import serve
from tests.oidc_server import OidcServer, oidc_server
from tests.vault_backends import vault_backend

__all__ = ["vault_backend"]  # the broker tests run on both vault backends (usefixtures)


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    """One real authorization server per test module; tests make their own logins on it."""
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_900_000_000.0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def ui() -> ScriptedUI:
    return ScriptedUI()


@pytest.fixture
def tools(http: httpx.AsyncClient, clock: ManualClock, ui: ScriptedUI) -> LoginTools:
    async def sleep(seconds: float) -> None:
        # Time passes on the injected clock; the person's side gets to run meanwhile.
        clock.advance(seconds)
        await ui.settle()

    return LoginTools(http=http, clock=clock, sleep=sleep, ui=ui)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def github(clock: ManualClock) -> FakeGitHub:
    """A fake of GitHub's device login and Copilot token endpoints, on the test's clock."""
    return FakeGitHub(now=clock.now())


@pytest.fixture
def copilot_config(state: Path, github: FakeGitHub) -> Iterator[Path]:
    """A config file whose ``github-copilot`` provider logs in at, and takes Copilot tokens from,
    the fake GitHub, which is served for as long as the test runs."""
    with serve(github.app) as url:
        state.mkdir(mode=0o700)
        path = state / "clawgate.json"
        oauth = {"issuer": url, "copilotTokenEndpoint": f"{url}/copilot_internal/v2/token"}
        path.write_text(json.dumps({"models": {"providers": {"github-copilot": {"oauth": oauth}}}}))
        yield path

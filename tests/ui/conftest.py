"""The dashboard's tests: a gateway in this process (`tests.gateway.inprocess`) with the test
authorization server's provider configured beside the fake model API, and a browser-like
client that signs in (no bearer token: the dashboard takes its cookie)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.clock import ManualClock
from clawgate.gateway.ui import Dashboard, DeviceLogins
from clawgate.vault import ProfileStatus
from tests.auth.helpers import device_login, vault
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import TOKEN, Local, local_gateway
from tests.gateway.running import config
from tests.oidc_server import OidcServer, oidc_server

BASE = "http://localhost"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


def document(api: FakeModelAPI, idp: OidcServer, **gateway: Any) -> dict[str, Any]:
    """The gateway tests' config, with the authorization server's provider ``myidp`` (its
    logins: browser and device code) and the given ``gateway`` settings."""
    base = config(api.url)
    base["gateway"] = {**base["gateway"], **gateway}
    base["models"]["providers"]["myidp"] = idp.provider_settings()
    return base


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def local(
    tmp_path: Path, api: FakeModelAPI, idp: OidcServer, clock: ManualClock
) -> AsyncIterator[Local]:
    allowed = document(api, idp, cors=["https://app.example.com"])
    async with local_gateway(tmp_path / "state", api, allowed) as running:
        board = running.app.state.dashboard = Dashboard(clock, DeviceLogins(clock))
        try:
            yield running
        finally:
            await board.logins.aclose()


@pytest.fixture
async def browser(local: Local) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no token, as a browser on the dashboard is."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(local.app), base_url=BASE) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await client.post("/ui/login", data={"token": token}, headers={"origin": BASE})


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


PROFILE = "myidp:default"
DEAD_FIX = "clawgate models auth login --provider myidp --device-code"


async def dead_login(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    """A real device login to ``myidp`` in ``state``, whose grant the provider then refused:
    the profile ``needs_login`` (what a revoked refresh token leaves)."""
    await device_login(idp, state, clock)
    vault(state, clock).mark(
        PROFILE, ProfileStatus(state="needs_login", message="invalid_grant", fix=DEAD_FIX)
    )

"""Every route the app registers refuses a request without the gateway's token, by either of
the two ways clients send it; a route added later is covered without being listed here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from clawgate.gateway._guard import OPEN_PATHS, UI_PREFIX
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import TOKEN, Local, local_gateway

pytestmark = pytest.mark.anyio


@pytest.fixture
async def local(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Local]:
    async with local_gateway(tmp_path / "state", api) as running:
        yield running


@pytest.fixture
async def anonymous(local: Local) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app that sends no token of its own."""
    transport = httpx.ASGITransport(local.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def registered(local: Local) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, read from the app itself."""
    pairs = []
    for route in local.app.routes:
        assert isinstance(route, Route), f"a route this test cannot read: {route!r}"
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                pairs.append((method, route.path))
    return pairs


async def test_every_route_but_health_refuses_without_the_token(
    local: Local, anonymous: httpx.AsyncClient
) -> None:
    routes = registered(local)
    assert len(routes) >= 6  # the OpenAI surface and the control API, at least
    for method, path in routes:
        answer = await anonymous.request(method, path, json={})
        if path in OPEN_PATHS:  # /healthz; the Telegram webhook checks Telegram's own secret
            assert answer.status_code == (200 if path == "/healthz" else 404), path
            continue
        if path.startswith(UI_PREFIX):  # the dashboard's own cookie session (tests/ui)
            public = (method, path) == ("GET", "/ui/login")  # the sign-in form holds nothing
            expected = {200} if public else {303, 401, 403, 404}
            assert answer.status_code in expected, (method, path)
            continue
        assert answer.status_code == 401, (method, path)
        if path.startswith("/v1/messages"):  # Anthropic's surface: Anthropic's error object
            assert answer.json()["error"]["type"] == "authentication_error", path
        else:
            assert answer.json()["error"]["code"] == "unauthorized", path
        wrong = await anonymous.request(
            method, path, json={}, headers={"Authorization": "Bearer cg-wrong"}
        )
        assert wrong.status_code == 401, (method, path)


async def test_the_token_is_taken_as_bearer_or_as_x_api_key(anonymous: httpx.AsyncClient) -> None:
    token = TOKEN
    bearer = await anonymous.get("/control/status", headers={"Authorization": f"Bearer {token}"})
    keyed = await anonymous.get("/control/status", headers={"x-api-key": token})
    wrong = await anonymous.get("/control/status", headers={"x-api-key": token + "x"})
    assert (bearer.status_code, keyed.status_code, wrong.status_code) == (200, 200, 401)


async def test_a_path_no_route_knows_is_a_404_even_without_the_token(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.get("/v1/nothing")
    assert answer.status_code == 404

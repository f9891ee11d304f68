"""Host and Origin checks (`gateway._hosts`): a re-pointed name (DNS rebinding) and a
cross-origin page get no answer from any route, unless the config allows them; the names real
clients use (127.0.0.1:PORT, localhost:PORT) keep working, on a real server too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.gateway._hosts import host_name
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import Local, local_gateway
from tests.gateway.running import RunningGateway, config

pytestmark = pytest.mark.anyio

ASK = {"model": "up/m", "messages": [{"role": "user", "content": "hi"}]}


def document(api: FakeModelAPI, **gateway: Any) -> dict[str, Any]:
    base = config(api.url)
    base["gateway"] = {**base["gateway"], **gateway}
    return base


@pytest.fixture
async def local(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Local]:
    allowed = document(api, allowedHosts=["gw.example.com"], cors=["https://app.example.com"])
    async with local_gateway(tmp_path / "state", api, allowed) as running:
        yield running


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:18789", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:18789", "::1"),
        ("evil.example:80", "evil.example"),
    ],
)
def test_host_name_drops_the_port(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/control/status"])
async def test_a_rebound_name_is_refused_on_every_surface(local: Local, path: str) -> None:
    answer = await local.client.post(path, json=ASK, headers={"Host": "attacker.example:18789"})
    assert answer.status_code == 421
    body = answer.json()
    if path == "/v1/messages":
        assert body["type"] == "error"
        assert "gateway.allowedHosts" in body["error"]["message"]
    else:
        assert body["error"]["code"] == "host_not_allowed"
        assert "attacker.example" in body["error"]["message"]


@pytest.mark.parametrize(
    "host", ["localhost:1234", "127.0.0.1:1234", "[::1]:1234", "gw.example.com"]
)
async def test_loopback_names_and_configured_hosts_are_served(local: Local, host: str) -> None:
    answer = await local.client.post("/v1/chat/completions", json=ASK, headers={"Host": host})
    assert answer.status_code == 200, answer.text


async def test_a_cross_origin_request_is_refused_before_it_runs(
    local: Local, api: FakeModelAPI
) -> None:
    answer = await local.client.post(
        "/v1/chat/completions", json=ASK, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "origin_not_allowed"
    assert "gateway.cors" in answer.json()["error"]["message"]
    assert "access-control-allow-origin" not in answer.headers
    assert api.seen == []  # nothing reached the upstream


async def test_a_preflight_from_another_origin_is_refused(local: Local) -> None:
    answer = await local.client.options(
        "/v1/chat/completions",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers


async def test_an_allowed_origin_gets_cors_headers_and_its_preflight(local: Local) -> None:
    origin = "https://app.example.com"
    preflight = await local.client.options(
        "/v1/chat/completions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    answer = await local.client.post("/v1/chat/completions", json=ASK, headers={"Origin": origin})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin
    # CORS opens no door the token closes.
    anonymous = await local.client.post(
        "/v1/chat/completions", json=ASK, headers={"Origin": origin, "Authorization": ""}
    )
    assert anonymous.status_code == 401


async def test_a_same_origin_request_passes(local: Local) -> None:
    answer = await local.client.get(
        "/control/status", headers={"Host": "localhost:9", "Origin": "http://localhost:9"}
    )
    assert answer.status_code == 200


async def test_a_config_edit_takes_effect_live(local: Local, api: FakeModelAPI) -> None:
    headers = {"Host": "other.example"}
    assert (await local.client.get("/control/status", headers=headers)).status_code == 421
    local.write_config(document(api, allowedHosts=["other.example"]))
    await local.gateway.refresh(force=True)
    assert (await local.client.get("/control/status", headers=headers)).status_code == 200


def test_a_real_server_serves_loopback_names_and_refuses_others(
    gateway: RunningGateway,
) -> None:
    port = httpx.URL(gateway.url).port
    bearer = {"Authorization": f"Bearer {gateway.token}"}
    with httpx.Client(headers=bearer) as http:
        for url in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            assert http.get(f"{url}/control/status").status_code == 200, url
        rebound = http.get(
            f"http://127.0.0.1:{port}/control/status", headers={"Host": f"rebound.example:{port}"}
        )
        assert rebound.status_code == 421
        # /healthz too: nothing answers a name that is not ours.
        health = http.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "rebound.example"})
        assert health.status_code == 421


async def test_the_telegram_webhooks_public_host_reaches_the_webhook(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    base = config(api.url)
    url = "https://bot.example.com/channels/telegram/webhook"
    base["channels"] = {"telegram": {"mode": "webhook", "webhook": {"url": url}}}
    async with local_gateway(tmp_path / "state", api, base) as local:
        path = "/channels/telegram/webhook"
        public = await local.client.post(path, json={}, headers={"Host": "bot.example.com"})
        assert public.status_code != 421  # the channel's own answer (its secret header)
        other = await local.client.post(path, json={}, headers={"Host": "evil.example"})
        assert other.status_code == 421

"""Client keys at the gateway (`gateway._guard`, `gateway._keys`): a key calls the API within
its models, rate and tokens a day, each refusal saying which limit; never the control routes;
revoked and rotated keys count from the next request; the turns it makes are recorded under
its name; and only a keyed hash of it is stored anywhere."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.clock import ManualClock
from clawgate.gateway._keys import ClientKeys
from clawgate.service import ClientKeyStore
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import Local, local_gateway

pytestmark = pytest.mark.anyio


def ask(model: str = "up/m", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}


def claude(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


class Keyed:
    """The in-process gateway, its client keys on a clock the test moves."""

    def __init__(self, local: Local) -> None:
        self.local = local
        # The wall clock's now, so today's usage rows (written on the runtime's clock) count.
        self.clock = ManualClock(time.time())
        gateway = local.gateway
        self.store = ClientKeyStore(gateway.vault, self.clock)
        local.app.state.client_keys = ClientKeys(gateway.vault, gateway.state, self.clock)

    def create(self, name: str, **limits: Any) -> str:
        _, value = self.store.create(name, **limits)
        return value.reveal()

    async def post(self, key: str, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        return await self.local.client.post(path, json=body, headers=headers, **kw)

    async def chat(self, key: str, model: str = "up/m", **fields: Any) -> httpx.Response:
        return await self.post(key, "/v1/chat/completions", ask(model, **fields))


@pytest.fixture
async def keyed(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Keyed]:
    async with local_gateway(tmp_path / "state", api) as local:
        yield Keyed(local)


async def test_a_key_calls_the_api_but_not_the_control_routes(keyed: Keyed) -> None:
    key = keyed.create("phone")
    answer = await keyed.chat(key)
    assert answer.status_code == 200, answer.text
    by_x_api_key = await keyed.local.client.post(
        "/v1/messages", json=claude("up/m"), headers={"Authorization": "", "x-api-key": key}
    )
    assert by_x_api_key.status_code == 200, by_x_api_key.text
    control = await keyed.local.client.get(
        "/control/status", headers={"Authorization": f"Bearer {key}"}
    )
    assert control.status_code == 403
    assert control.json()["error"]["code"] == "admin_only"
    assert "gateway token" in control.json()["error"]["message"]
    wrong = await keyed.chat(key[:-2] + "xx")
    assert wrong.status_code == 401
    # The admin token still reaches everything.
    assert (await keyed.local.client.get("/control/status")).status_code == 200


async def test_a_key_may_use_only_its_models(keyed: Keyed, api: FakeModelAPI) -> None:
    key = keyed.create("ide", models=["up/m"])
    assert (await keyed.chat(key, "up/m")).status_code == 200
    seen = len(api.seen)
    for refused in (
        await keyed.chat(key, "alt/m"),
        await keyed.chat(key, "clawgate"),  # the default chain
        await keyed.chat(key, "up/m", models=["up/m", "alt/m"]),  # an explicit chain
    ):
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "model_not_allowed"
        assert "'ide'" in error["message"]
        assert "up/m" in error["message"]
    assert len(api.seen) == seen  # refused before any upstream was asked
    anthropic = await keyed.post(key, "/v1/messages", claude("alt/m"))
    assert anthropic.status_code == 403
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "permission_error"
    chain = keyed.create("chain", models=["clawgate"])
    assert (await keyed.chat(chain, "default")).status_code == 200
    assert (await keyed.chat(chain, "up/m")).status_code == 403


async def test_the_request_rate_limit_answers_429_with_retry_after(keyed: Keyed) -> None:
    key = keyed.create("script", rpm=2)
    assert [(await keyed.chat(key)).status_code for _ in range(2)] == [200, 200]
    keyed.clock.advance(20)
    limited = await keyed.chat(key)
    assert limited.status_code == 429
    assert limited.headers["x-clawgate-limit"] == "rpm"
    assert limited.headers["retry-after"] == "40"  # the first request leaves the window then
    error = limited.json()["error"]
    assert error["code"] == "rpm_exceeded"
    assert "2 requests a minute" in error["message"]
    anthropic = await keyed.post(key, "/v1/messages", claude("up/m"))
    assert anthropic.status_code == 429
    assert anthropic.json()["error"]["type"] == "rate_limit_error"
    keyed.clock.advance(40)
    assert (await keyed.chat(key)).status_code == 200
    # Another key has its own count.
    assert (await keyed.chat(keyed.create("other", rpm=1))).status_code == 200


async def test_the_daily_token_limit_counts_the_keys_recorded_usage(keyed: Keyed) -> None:
    key = keyed.create("budget", tokens_per_day=10)
    first = await keyed.chat(key)
    assert first.status_code == 200
    used = first.json()["usage"]["total_tokens"]
    assert used >= 10
    other = keyed.create("unmetered")
    assert (await keyed.chat(other)).status_code == 200  # its tokens are not budget's
    limited = await keyed.chat(key)
    assert limited.status_code == 429
    assert limited.headers["x-clawgate-limit"] == "tokens_per_day"
    error = limited.json()["error"]
    assert error["code"] == "tokens_per_day_exceeded"
    assert f"used {used} of its 10 tokens today" in error["message"]
    now = keyed.clock.now()
    assert int(limited.headers["retry-after"]) == pytest.approx(86_400 - now % 86_400, abs=1)
    keyed.clock.advance(86_400)  # tomorrow (UTC)
    assert (await keyed.chat(key)).status_code == 200


async def test_turns_and_usage_are_recorded_under_the_keys_name(keyed: Keyed) -> None:
    key = keyed.create("laptop")
    plain = await keyed.chat(key)
    streamed = await keyed.chat(key, stream=True, stream_options={"include_usage": True})
    admin = await keyed.local.client.post("/v1/chat/completions", json=ask())
    state = keyed.local.gateway.state
    names = {}
    for answer in (plain, streamed, admin):
        assert answer.status_code == 200
        turn_id = answer.headers["x-clawgate-turn"]
        record = state.decisions.get(turn_id)
        assert record is not None
        usage = state.usage.for_turn(turn_id)
        names[turn_id] = (record.client_key, [u.client_key for u in usage])
    assert list(names.values()) == [
        ("laptop", ["laptop"]),
        ("laptop", ["laptop"]),
        (None, [None]),
    ]


async def test_revoked_and_rotated_keys_count_from_the_next_request(keyed: Keyed) -> None:
    key = keyed.create("partner")
    assert (await keyed.chat(key)).status_code == 200
    new = keyed.store.rotate("partner").reveal()
    assert (await keyed.chat(key)).status_code == 401
    assert (await keyed.chat(new)).status_code == 200
    keyed.store.revoke("partner")
    assert (await keyed.chat(new)).status_code == 401


async def test_an_expired_key_is_refused_naming_the_fix(keyed: Keyed) -> None:
    key = keyed.create("trial", expires_in=3600)
    assert (await keyed.chat(key)).status_code == 200
    keyed.clock.advance(3600)
    answer = await keyed.chat(key)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "key_expired"
    assert "clawgate gateway keys rotate trial" in answer.json()["error"]["message"]


async def test_only_a_keyed_hash_is_stored(keyed: Keyed) -> None:
    key = keyed.create("secretive", models=["up/m"])
    assert (await keyed.chat(key)).status_code == 200
    body = key.removeprefix("cgk-").encode()
    for path in keyed.local.state.rglob("*"):  # state.db, its WAL, the config, the vault
        if path.is_file():
            assert body not in path.read_bytes(), path
    # The records are sealed in the vault: not even the key's name or hash is readable there.
    (record,) = keyed.store.all()
    sealed = keyed.store.vault.secret_path("client-keys").read_bytes()
    assert b"secretive" not in sealed
    assert record.digest.encode() not in sealed
    # The hash is keyed (HMAC), not a plain digest someone could check guesses against.
    assert record.digest != hashlib.sha256(key.encode()).hexdigest()
    assert len(record.digest) == 64
    assert "digest" not in record.view()
    assert record.digest not in repr(record)


async def test_a_key_like_token_with_no_keys_made_is_refused_and_changes_nothing(
    keyed: Keyed,
) -> None:
    answer = await keyed.chat("cgk-" + "x" * 43)
    assert answer.status_code == 401
    assert keyed.local.gateway.vault.secret("client-keys-hmac") is None

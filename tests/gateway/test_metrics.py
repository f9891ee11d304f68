"""``GET /metrics`` on a real gateway app (`gateway._metrics`, `clawgate.metrics`): after a
scripted set of turns through the fake upstreams (a fallback, an OAuth refresh by the broker at
a token endpoint on loopback, a client key, a ref no config names, a failure), the text parsed
by prometheus_client's own parser has the expected series and values; profile and circuit
states are read at scrape time; a stream counts while it is sent; only the admin token reads
it, and no secret is in it.

The series of this process add up over the whole test session, so each test compares a scrape
after its turns with one before them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from clawgate.clock import ManualClock
from clawgate.secret import Secret
from clawgate.service import ClientKeyStore
from clawgate.vault import ApiKeyMaterial, OAuthMaterial, ProfileStatus
from tests.fakes.model_api import FakeModelAPI, Reply, chat_json, error
from tests.fakes.openai_auth import FakeOpenAIAuth, jwt
from tests.fakes.server import serve
from tests.gateway.inprocess import TOKEN, Local, SlowReader, local_gateway, sse_events
from tests.gateway.wired import QUICK, upstream

pytestmark = pytest.mark.anyio

CODEX = "openai-codex/gpt-5-codex"
CLOSED_PORT = "http://127.0.0.1:9/v1"  # nothing listens: every attempt fails at once (network)

Key = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Key, float]:
    """Every sample of the exposition, by name and labels, read by prometheus_client."""
    found: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


@dataclass
class Scrape:
    text: str
    values: dict[Key, float]

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)


class Change:
    """What the turns between two scrapes added."""

    def __init__(self, before: Scrape, after: Scrape) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        return self.after.get(name, **labels) - self.before.get(name, **labels)


def ask(model: str, *models: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        **({"models": [model, *models]} if models else {}),
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def document(api_url: str, issuer: str) -> dict[str, Any]:
    providers = {name: upstream(api_url, name) for name in ("up", "alt", "f1", "c1")}
    providers["c1"]["baseUrl"] = CLOSED_PORT
    providers["keyed"] = upstream(api_url, "keyed", auth="api-key")
    providers["openai-codex"] = {
        "baseUrl": f"{api_url}/backend-api",
        "oauth": {"issuer": issuer},
        "timeouts": QUICK,
    }
    return {
        "routing": {"resume": "off"},
        "agents": {"defaults": {"model": {"primary": "up/m", "fallbacks": ["alt/m"]}}},
        "models": {"providers": providers},
    }


@pytest.fixture
def issuer() -> Iterator[tuple[FakeOpenAIAuth, str]]:
    """auth.openai.com's token endpoint, on the wall clock (the gateway's)."""
    fake = FakeOpenAIAuth(now=time.time())
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def local(
    tmp_path: Path, api: FakeModelAPI, issuer: tuple[FakeOpenAIAuth, str]
) -> AsyncIterator[Local]:
    _, url = issuer
    async with local_gateway(tmp_path / "state", api, document(api.url, url)) as local:
        yield local


async def scrape(local: Local) -> Scrape:
    answer = await local.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(answer.text, samples(answer.text))


def store_expiring_login(local: Local, fake: FakeOpenAIAuth) -> OAuthMaterial:
    """A ChatGPT login whose access token is inside the refresh margin: its next use refreshes
    it at the fake issuer, which knows its refresh token."""
    fake.issue()
    assert fake.refresh_token is not None
    soon = time.time() + 60
    material = OAuthMaterial(
        access=Secret(jwt({"exp": int(soon), **fake.claims()})),
        refresh=Secret(fake.refresh_token),
        expires_at=soon,
        account_id=fake.account,
    )
    local.gateway.vault.save("openai-codex:me", "openai-codex", material)
    return material


async def test_a_scripted_set_of_turns_is_counted_by_outcome_model_key_and_tokens(
    local: Local, api: FakeModelAPI, issuer: tuple[FakeOpenAIAuth, str]
) -> None:
    fake, _ = issuer
    login = store_expiring_login(local, fake)
    _, key = ClientKeyStore(local.gateway.vault, ManualClock(time.time())).create("phone")
    phone = key.reveal()
    before = await scrape(local)

    # An answer that reports cached input and reasoning output.
    body = chat_json(usage=(40, 9))
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 30}
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 4}
    api.script(Reply(body=body), path="/up/")
    assert (await local.client.post("/v1/chat/completions", json=ask("up/m"))).status_code == 200
    # A fallback: the first model is rate limited, the second answers.
    api.script(error(429, {"error": {"message": "slow down", "code": "rate_limited"}}), path="/f1/")
    fell = await local.client.post("/v1/chat/completions", json=ask("f1/m", "alt/m"))
    assert fell.status_code == 200, fell.text
    # A ChatGPT turn whose login is refreshed first, at the issuer's token endpoint.
    refreshed = await local.client.post("/v1/chat/completions", json=ask(CODEX))
    assert refreshed.status_code == 200, refreshed.text
    assert fake.refresh_calls == 1
    # A client key's turn, and a model ref no config names.
    keyed = await local.client.post(
        "/v1/chat/completions", json=ask("up/m"), headers={"Authorization": f"Bearer {phone}"}
    )
    assert keyed.status_code == 200, keyed.text
    invented = await local.client.post("/v1/chat/completions", json=ask("up/invented-by-caller"))
    assert invented.status_code == 200, invented.text
    # A turn no candidate can answer.
    failed = await local.client.post("/v1/chat/completions", json=ask("c1/m"))
    assert failed.status_code >= 500

    after = await scrape(local)
    change = Change(before, after)
    turns = "clawgate_turns_total"
    assert change(turns, outcome="succeeded", failure="", model="up/m", key="") == 1
    assert change(turns, outcome="succeeded", failure="", model="alt/m", key="") == 1
    assert change(turns, outcome="succeeded", failure="", model=CODEX, key="") == 1
    assert change(turns, outcome="succeeded", failure="", model="up/m", key="phone") == 1
    assert change(turns, outcome="succeeded", failure="", model="other", key="") == 1
    assert change(turns, outcome="failed", failure="network", model="", key="") == 1
    assert change("clawgate_fallbacks_total", model="alt/m") == 1

    attempts = "clawgate_attempts_total"
    assert change(attempts, model="f1/m", decision="failed", reason="rate_limit") == 1
    assert change(attempts, model="alt/m", decision="succeeded", reason="") == 1
    assert change(attempts, model="c1/m", decision="failed", reason="network") == 2  # retried
    # Latency: one observation per answer, in each model's histogram.
    assert change("clawgate_answer_seconds_count", model="alt/m") == 1
    assert change("clawgate_answer_seconds_count", model=CODEX) == 1
    assert change("clawgate_first_token_seconds_count", model=CODEX) == 1
    assert change("clawgate_answer_seconds_bucket", model="alt/m", le="+Inf") == 1

    tokens = "clawgate_tokens_total"
    assert change(tokens, kind="input", model="up/m", key="") == 40
    assert change(tokens, kind="output", model="up/m", key="") == 9
    assert change(tokens, kind="cached", model="up/m", key="") == 30
    assert change(tokens, kind="reasoning", model="up/m", key="") == 4
    assert change(tokens, kind="input", model="up/m", key="phone") == 12  # the fake's default
    assert change(tokens, kind="output", model="up/m", key="phone") == 3

    refreshes = "clawgate_refreshes_total"
    assert change(refreshes, provider="openai-codex", outcome="refreshed") == 1

    # A ref a caller invented makes no series; no secret is in the text.
    assert "invented-by-caller" not in after.text
    stored = local.gateway.vault.load("openai-codex:me").material
    assert isinstance(stored, OAuthMaterial)
    assert stored.refresh is not None
    for secret in (TOKEN, phone, login.access.reveal(), stored.access.reveal()):
        assert secret not in after.text
    assert stored.refresh.reveal() not in after.text
    assert (login.refresh.reveal() if login.refresh else "") not in after.text


async def test_profile_and_circuit_states_are_read_when_scraped(
    local: Local, api: FakeModelAPI
) -> None:
    vault = local.gateway.vault
    vault.save("keyed:default", "keyed", ApiKeyMaterial(Secret("sk-metrics-keyed")))
    vault.save("openai:gone", "openai", ApiKeyMaterial(Secret("sk-metrics-gone")))
    dead = ProfileStatus(state="needs_login", message="the key was revoked", fix="log in")
    vault.mark("openai:gone", dead)
    fresh = await scrape(local)
    assert fresh.get("clawgate_profiles", state="ok") == 1
    assert fresh.get("clawgate_profiles", state="needs_login") == 1
    assert fresh.get("clawgate_profiles", state="blocked") == 0
    assert fresh.get("clawgate_circuits", state="open") == 0

    # Out of credit: the whole profile is blocked (billing), though its key is fine.
    out = {
        "error": {
            "message": "no credit",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    api.script(error(429, out), path="/keyed/")
    assert (await local.client.post("/v1/chat/completions", json=ask("keyed/m"))).status_code >= 400
    # A model whose every attempt fails on the network: its circuit opens after three.
    for _ in range(2):
        await local.client.post("/v1/chat/completions", json=ask("c1/m"))

    now = await scrape(local)
    profile = "clawgate_profile_state"
    assert now.get(profile, profile="keyed:default", provider="keyed", state="blocked") == 1
    assert now.get(profile, profile="openai:gone", provider="openai", state="needs_login") == 1
    assert now.get("clawgate_profiles", state="ok") == 0
    assert now.get("clawgate_profiles", state="blocked") == 1
    assert now.get("clawgate_profiles", state="needs_login") == 1
    for state in ("unresolved", "tampered", "missing"):
        assert (("clawgate_profiles", (("state", state),))) in now.values
    assert now.get("clawgate_circuits", state="open") == 1
    assert now.get("clawgate_circuit_state", profile="c1:default", model="c1/m", state="open") == 1
    assert "sk-metrics" not in now.text


async def test_a_stream_counts_as_active_while_it_is_sent(local: Local) -> None:
    path = "/v1/chat/completions"
    before = await scrape(local)
    async with anyio.create_task_group() as tasks:
        reader = SlowReader(local.app, path, ask("up/m", stream=True))
        tasks.start_soon(reader.run)
        await reader.first_chunk.wait()  # the stream has begun; the rest waits for the reader
        during = await scrape(local)
        reader.read_on()
        await reader.done.wait()
    after = await scrape(local)
    assert sse_events(reader.text)[-1] == "[DONE]"
    assert during.get("clawgate_active_streams", path=path) == 1
    assert after.get("clawgate_active_streams", path=path) == 0
    first_token = Change(before, after)("clawgate_first_token_seconds_count", model="up/m")
    assert first_token == 1


async def test_only_the_admin_token_reads_the_metrics(local: Local) -> None:
    _, key = ClientKeyStore(local.gateway.vault, ManualClock(time.time())).create("laptop")
    anonymous = await local.client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = await local.client.get("/metrics", headers={"Authorization": "Bearer cg-wrong"})
    assert wrong.status_code == 401
    keyed = await local.client.get("/metrics", headers={"Authorization": f"Bearer {key.reveal()}"})
    assert keyed.status_code == 403
    assert keyed.json()["error"]["code"] == "admin_only"
    assert key.reveal() not in keyed.text
    assert (await local.client.get("/metrics")).status_code == 200

"""The ChatGPT subscription login and refresh against a fake of auth.openai.com that answers
with OpenAI's documented bodies: each refusal lands in its own class of the taxonomy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clawgate import auth
from clawgate.auth.oauth import LoginTools
from clawgate.clock import ManualClock
from clawgate.config import load_config
from clawgate.failures import FailureClass
from clawgate.vault import OAuthMaterial, StoredProfile
from tests.auth.helpers import env_for, vault
from tests.auth.login_ui import ScriptedUI
from tests.fakes.openai_auth import REFUSALS, FakeOpenAIAuth, Reply
from tests.fakes.server import serve

pytestmark = pytest.mark.anyio
PROFILE = "openai-codex:me@example.com"
DAY = 86400.0
FIX = "clawgate models auth login --provider openai-codex --device-code"


@pytest.fixture
def fake(clock: ManualClock) -> FakeOpenAIAuth:
    return FakeOpenAIAuth(now=clock.now())


@pytest.fixture
def issuer(fake: FakeOpenAIAuth) -> Iterator[str]:
    with serve(fake.app) as url:
        yield url


@pytest.fixture
def config(state: Path, issuer: str) -> Path:
    state.mkdir(mode=0o700)
    path = state / "clawgate.json"
    providers = {"openai-codex": {"oauth": {"issuer": issuer}}}
    path.write_text(json.dumps({"models": {"providers": providers}}))
    return path


async def login(
    state: Path, config: Path, tools: LoginTools, *, device: bool = False
) -> StoredProfile:
    settings = load_config(config, env_for(state)).settings
    return await auth.login(
        tools,
        vault(state, tools.clock),
        settings,
        config,
        env_for(state),
        "openai-codex",
        device_code=device,
    )


def broker(state: Path, config: Path, http: httpx.AsyncClient, clock: ManualClock) -> auth.Broker:
    settings = load_config(config, env_for(state)).settings
    return auth.Broker(vault(state, clock), settings, http=http, clock=clock, refresh_timeout=0.5)


async def test_browser_login_on_the_registered_port_reads_account_plan_and_email(
    state: Path, config: Path, tools: LoginTools, ui: ScriptedUI
) -> None:
    async def browser(url: str) -> None:
        async with httpx.AsyncClient(follow_redirects=True) as b:
            page = await b.get(url)
        assert "Logged in" in page.text

    ui.on_url = browser
    stored = await login(state, config, tools)
    await ui.settle()
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A145" in ui.urls[0]
    assert "originator=clawgate" in ui.urls[0]
    assert stored.profile_id == PROFILE
    material = stored.material
    assert isinstance(material, OAuthMaterial)
    assert (material.account_id, material.plan, material.email) == (
        "acct-1",
        "plus",
        "me@example.com",
    )
    settings = load_config(config, env_for(state)).settings
    assert settings.auth.profiles[PROFILE].email == "me@example.com"


async def test_openai_device_login_variant(
    state: Path, config: Path, tools: LoginTools, ui: ScriptedUI, fake: FakeOpenAIAuth
) -> None:
    async def person(user_code: str, uri: str) -> None:
        assert user_code == "ABCD-1234"
        assert uri.endswith("/codex/device")
        fake.approve()

    ui.on_code = person
    stored = await login(state, config, tools, device=True)
    assert stored.profile_id == PROFILE


@pytest.fixture
async def logged_in(
    state: Path, config: Path, tools: LoginTools, ui: ScriptedUI, fake: FakeOpenAIAuth
) -> StoredProfile:
    ui.on_code = lambda code, uri: _approve(fake)
    return await login(state, config, tools, device=True)


async def _approve(fake: FakeOpenAIAuth) -> None:
    fake.approve()


DEAD = [
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
    "invalid_grant",
    "token_expired",
]


@pytest.mark.parametrize("refusal", DEAD)
async def test_dead_grant_refusals_become_needs_login_with_the_fix(
    refusal: str,
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.token_replies.append(REFUSALS[refusal])
    if refusal in ("refresh_token_reused", "invalid_grant"):
        fake.token_replies.append(REFUSALS[refusal])  # not cured by the one re-read either
    clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError) as dead:
        await broker(state, config, http, clock).credential(PROFILE)
    assert dead.value.failure is FailureClass.AUTH_DEAD
    assert dead.value.fix == FIX
    after = vault(state).load(PROFILE)
    assert after.material == logged_in.material
    assert after.generation == logged_in.generation
    assert after.status.state == "needs_login"
    assert after.status.message is not None
    provider_words = REFUSALS[refusal].body["error"]
    words = provider_words["message"] if isinstance(provider_words, dict) else "Invalid refresh"
    assert words in after.status.message
    assert fake.refresh_calls == 1


TRANSIENT = {
    "500": FailureClass.SERVER_ERROR,
    "502": FailureClass.SERVER_ERROR,
    "503": FailureClass.SERVER_ERROR,
    "429-retry-after": FailureClass.RATE_LIMIT,
    "429-bare": FailureClass.RATE_LIMIT,
}


@pytest.mark.parametrize("refusal", sorted(TRANSIENT))
async def test_transient_refusals_keep_the_material_and_a_still_valid_token(
    refusal: str,
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.token_replies.append(REFUSALS[refusal])
    clock.advance(10 * DAY - 120)  # two minutes left: inside the margin, still usable
    the_broker = broker(state, config, http, clock)
    credential = await the_broker.credential(PROFILE)
    assert credential.how == "stale-but-valid"
    assert credential.note is not None
    assert isinstance(logged_in.material, OAuthMaterial)
    assert credential.token == logged_in.material.access
    after = vault(state).load(PROFILE)
    assert after.status.state == "ok"
    assert after.material == logged_in.material
    # Backoff: the next call does not hammer the issuer.
    await the_broker.credential(PROFILE)
    assert fake.refresh_calls == 1


async def test_retry_after_is_honoured_then_the_refresh_happens(
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.token_replies.append(REFUSALS["429-retry-after"])
    clock.advance(11 * DAY)  # expired: nothing usable while the issuer says wait
    fake.now = clock.now()
    the_broker = broker(state, config, http, clock)
    with pytest.raises(auth.CredentialError) as wait:
        await the_broker.credential(PROFILE)
    assert wait.value.failure is FailureClass.AUTH_TRANSIENT
    assert wait.value.retry_after == 30
    clock.advance(29)
    with pytest.raises(auth.CredentialError):
        await the_broker.credential(PROFILE)
    assert fake.refresh_calls == 1
    clock.advance(2)
    assert (await the_broker.credential(PROFILE)).how == "refreshed"
    assert fake.refresh_calls == 2


async def test_a_refresh_that_times_out_is_transient(
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.token_replies.append(Reply(200, {}, delay=0.8))  # refresh_timeout is 0.5 s
    clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError, match="timed out") as slow:
        await broker(state, config, http, clock).credential(PROFILE)
    assert slow.value.failure is FailureClass.AUTH_TRANSIENT
    assert vault(state).load(PROFILE).status.state == "ok"


@pytest.mark.parametrize(
    ("refusal", "failure"),
    [("usage_limit_reached", FailureClass.QUOTA), ("usage_not_included", FailureClass.ENTITLEMENT)],
)
async def test_usage_limit_and_plan_bodies_are_never_a_relogin(
    refusal: str,
    failure: FailureClass,
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.token_replies.append(REFUSALS[refusal])
    clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError) as limited:
        await broker(state, config, http, clock).credential(PROFILE)
    assert limited.value.failure is failure
    assert limited.value.fix is None
    if refusal == "usage_limit_reached":
        assert limited.value.resets_at == 1_900_007_200
    assert vault(state).load(PROFILE).status.state == "ok"


async def test_model_endpoint_token_expired_refreshes_once_and_retries(
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
    issuer: str,
) -> None:
    fake.model_replies.append(REFUSALS["token_expired"])
    flow = auth.BrokerAuth(broker(state, config, http, clock), PROFILE)
    response = await http.post(f"{issuer}/backend-api/codex/responses", json={}, auth=flow)
    assert response.status_code == 200
    assert [c.how for c in flow.used] == ["vault", "refreshed"]
    assert fake.refresh_calls == 1


async def test_model_endpoint_usage_limit_passes_through_without_refresh(
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
    issuer: str,
) -> None:
    fake.model_replies.append(REFUSALS["usage_limit_reached"])
    flow = auth.BrokerAuth(broker(state, config, http, clock), PROFILE)
    response = await http.post(f"{issuer}/backend-api/codex/responses", json={}, auth=flow)
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "usage_limit_reached"
    assert fake.refresh_calls == 0
    assert vault(state).load(PROFILE).status.state == "ok"


async def test_a_refresh_for_another_account_is_refused(
    logged_in: StoredProfile,
    state: Path,
    config: Path,
    http: httpx.AsyncClient,
    clock: ManualClock,
    fake: FakeOpenAIAuth,
) -> None:
    fake.account = "acct-someone-else"
    clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError, match="another account") as refused:
        await broker(state, config, http, clock).credential(PROFILE)
    assert refused.value.failure is FailureClass.AUTH_DEAD
    assert vault(state).load(PROFILE).material == logged_in.material

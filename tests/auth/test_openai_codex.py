"""The ChatGPT subscription login and refresh against a fake of auth.openai.com that answers
with OpenAI's documented bodies: each refusal lands in its own class of the taxonomy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass
class LoggedIn:
    """A ChatGPT login made through the fake, and everything a test needs around it."""

    stored: StoredProfile
    state: Path
    config: Path
    http: httpx.AsyncClient
    clock: ManualClock
    fake: FakeOpenAIAuth
    issuer: str

    def broker(self) -> auth.Broker:
        return broker(self.state, self.config, self.http, self.clock)

    def load(self) -> StoredProfile:
        return vault(self.state).load(PROFILE)

    async def turn(self, flow: auth.BrokerAuth) -> httpx.Response:
        """A model call as a turn makes it: through the broker's auth flow."""
        url = f"{self.issuer}/backend-api/codex/responses"
        return await self.http.post(url, json={}, auth=flow)


@pytest.fixture
async def account(
    state: Path,
    config: Path,
    tools: LoginTools,
    ui: ScriptedUI,
    fake: FakeOpenAIAuth,
    http: httpx.AsyncClient,
    clock: ManualClock,
    issuer: str,
) -> LoggedIn:
    async def approve(code: str, uri: str) -> None:
        fake.approve()

    ui.on_code = approve
    stored = await login(state, config, tools, device=True)
    return LoggedIn(stored, state, config, http, clock, fake, issuer)


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
    account: LoggedIn,
) -> None:
    account.fake.token_replies.append(REFUSALS[refusal])
    if refusal in ("refresh_token_reused", "invalid_grant"):
        account.fake.token_replies.append(REFUSALS[refusal])  # not cured by the one re-read either
    account.clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError) as dead:
        await account.broker().credential(PROFILE)
    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.fix == FIX
    after = account.load()
    assert after.material == account.stored.material
    assert after.generation == account.stored.generation
    assert after.status.state == "needs_login"
    assert after.status.message is not None
    provider_words = REFUSALS[refusal].body["error"]
    words = provider_words["message"] if isinstance(provider_words, dict) else "Invalid refresh"
    assert words in after.status.message
    assert account.fake.refresh_calls == 1


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
    account: LoggedIn,
) -> None:
    account.fake.token_replies.append(REFUSALS[refusal])
    account.clock.advance(10 * DAY - 120)  # two minutes left: inside the margin, still usable
    the_broker = account.broker()
    credential = await the_broker.credential(PROFILE)
    assert credential.how == "stale-but-valid"
    assert credential.note is not None
    assert isinstance(account.stored.material, OAuthMaterial)
    assert credential.token == account.stored.material.access
    after = account.load()
    assert after.status.state == "ok"
    assert after.material == account.stored.material
    # Backoff: the next call does not hammer the issuer.
    await the_broker.credential(PROFILE)
    assert account.fake.refresh_calls == 1


async def test_retry_after_is_honoured_then_the_refresh_happens(
    account: LoggedIn,
) -> None:
    account.fake.token_replies.append(REFUSALS["429-retry-after"])
    account.clock.advance(11 * DAY)  # expired: nothing usable while the issuer says wait
    account.fake.now = account.clock.now()
    the_broker = account.broker()
    with pytest.raises(auth.CredentialError) as wait:
        await the_broker.credential(PROFILE)
    assert wait.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert wait.value.failure.retry_after == 30
    account.clock.advance(29)
    with pytest.raises(auth.CredentialError):
        await the_broker.credential(PROFILE)
    assert account.fake.refresh_calls == 1
    account.clock.advance(2)
    assert (await the_broker.credential(PROFILE)).how == "refreshed"
    assert account.fake.refresh_calls == 2


async def test_a_refresh_that_times_out_is_transient(
    account: LoggedIn,
) -> None:
    account.fake.token_replies.append(Reply(200, {}, delay=0.8))  # refresh_timeout is 0.5 s
    account.clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError, match="timed out") as slow:
        await account.broker().credential(PROFILE)
    assert slow.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert account.load().status.state == "ok"


@pytest.mark.parametrize(
    ("refusal", "failure"),
    [("usage_limit_reached", FailureClass.QUOTA), ("usage_not_included", FailureClass.ENTITLEMENT)],
)
async def test_usage_limit_and_plan_bodies_are_never_a_relogin(
    refusal: str,
    failure: FailureClass,
    account: LoggedIn,
) -> None:
    account.fake.token_replies.append(REFUSALS[refusal])
    account.clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError) as limited:
        await account.broker().credential(PROFILE)
    assert limited.value.failure.kind is failure
    assert limited.value.fix is None
    if refusal == "usage_limit_reached":
        assert limited.value.failure.resets_at == 1_900_007_200
    assert account.load().status.state == "ok"


async def test_model_endpoint_token_expired_refreshes_once_and_retries(
    account: LoggedIn,
) -> None:
    account.fake.model_replies.append(REFUSALS["token_expired"])
    flow = auth.BrokerAuth(account.broker(), PROFILE)
    response = await account.http.post(
        f"{account.issuer}/backend-api/codex/responses", json={}, auth=flow
    )
    assert response.status_code == 200
    assert [c.how for c in flow.used] == ["vault", "refreshed"]
    assert account.fake.refresh_calls == 1


async def test_model_endpoint_usage_limit_passes_through_without_refresh(
    account: LoggedIn,
) -> None:
    account.fake.model_replies.append(REFUSALS["usage_limit_reached"])
    flow = auth.BrokerAuth(account.broker(), PROFILE)
    response = await account.http.post(
        f"{account.issuer}/backend-api/codex/responses", json={}, auth=flow
    )
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "usage_limit_reached"
    assert account.fake.refresh_calls == 0
    assert account.load().status.state == "ok"


async def test_a_refresh_for_another_account_is_refused(
    account: LoggedIn,
) -> None:
    account.fake.account = "acct-someone-else"
    account.clock.advance(11 * DAY)
    with pytest.raises(auth.CredentialError, match="another account") as refused:
        await account.broker().credential(PROFILE)
    assert refused.value.failure.kind is FailureClass.AUTH_DEAD
    assert account.load().material == account.stored.material

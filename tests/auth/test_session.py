"""`SessionMint`, GitHub Copilot's short-lived token, driven directly: minted from the stored
GitHub token and never written to the vault; a refused GitHub token is a durable
``needs_login`` with the fix; an endpoint that cannot answer is ``auth_transient``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clawgate.auth._session import SessionMint
from clawgate.auth.logins import login_spec
from clawgate.auth.logins._spec import SessionFactory
from clawgate.clock import ManualClock
from clawgate.config import Settings, load_config
from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.secret import Secret
from clawgate.vault import StoredProfile, TokenMaterial
from tests.auth.helpers import env_for, vault
from tests.fakes.github import FakeGitHub
from tests.fakes.server import serve

pytestmark = pytest.mark.anyio
PROFILE = "github-copilot:default"
FIX = "clawgate models auth login --provider github-copilot --device-code"


@pytest.fixture
def github(clock: ManualClock) -> FakeGitHub:
    return FakeGitHub(now=clock.now())


@pytest.fixture
def settings(state: Path, github: FakeGitHub) -> Iterator[Settings]:
    with serve(github.app) as url:
        state.mkdir(mode=0o700)
        path = state / "clawgate.json"
        oauth = {"issuer": url, "copilotTokenEndpoint": f"{url}/copilot_internal/v2/token"}
        path.write_text(json.dumps({"models": {"providers": {"github-copilot": {"oauth": oauth}}}}))
        yield load_config(path, env_for(state)).settings


@pytest.fixture
def stored(state: Path, github: FakeGitHub, settings: Settings) -> StoredProfile:
    """A GitHub login as `models auth login` stores it: the GitHub token, kind `token`."""
    return vault(state).save(PROFILE, "github-copilot", TokenMaterial(Secret(github.github_token)))


def copilot() -> SessionFactory:
    factory = login_spec("github-copilot", None).session
    assert factory is not None
    return factory


def sessions(
    state: Path, settings: Settings, http: httpx.AsyncClient, clock: ManualClock
) -> SessionMint:
    return SessionMint(vault(state, clock), settings, http, clock, lock_wait=5.0)


async def test_a_session_token_is_minted_and_held_in_memory_only(
    state: Path,
    settings: Settings,
    stored: StoredProfile,
    github: FakeGitHub,
    http: httpx.AsyncClient,
    clock: ManualClock,
) -> None:
    token = await sessions(state, settings, http, clock).mint(stored, copilot())

    assert token.token.reveal().endswith("n=1")
    assert token.expires_at == clock.now() + 1800
    assert token.base_url == "https://api.individual.githubcopilot.com"
    assert github.copilot_tokens == 1
    after = vault(state).load(PROFILE)
    assert (after.generation, after.material) == (stored.generation, stored.material)
    assert after.status.state == "ok"


async def test_a_refused_github_token_is_a_durable_needs_login_with_the_fix(
    state: Path,
    settings: Settings,
    stored: StoredProfile,
    github: FakeGitHub,
    http: httpx.AsyncClient,
    clock: ManualClock,
) -> None:
    github.revoked = True
    with pytest.raises(Failed) as dead:
        await sessions(state, settings, http, clock).mint(stored, copilot())

    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.failure.fix == FIX
    after = vault(state).load(PROFILE)
    assert after.status.state == "needs_login"
    assert after.status.fix == FIX
    assert after.status.since == clock.now()
    assert after.material == stored.material  # kept: a new login replaces it
    assert after.generation == stored.generation


async def test_an_endpoint_that_cannot_answer_is_auth_transient_with_its_retry_after(
    state: Path, settings: Settings, stored: StoredProfile, clock: ManualClock
) -> None:
    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "7"}, json={"message": "busy"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(unavailable)) as http:
        with pytest.raises(Failed) as transient:
            await sessions(state, settings, http, clock).mint(stored, copilot())

    assert transient.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert transient.value.failure.retry_after == 7
    assert vault(state).status(PROFILE).state == "ok"  # nothing marked


async def test_a_token_that_arrives_expired_is_auth_transient(
    state: Path,
    settings: Settings,
    stored: StoredProfile,
    github: FakeGitHub,
    http: httpx.AsyncClient,
    clock: ManualClock,
) -> None:
    github.now = clock.now() - 3600  # its clock is an hour behind: expires_at is in the past
    with pytest.raises(Failed) as expired:
        await sessions(state, settings, http, clock).mint(stored, copilot())

    assert expired.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert "already expired" in expired.value.message
    assert vault(state).status(PROFILE).state == "ok"


async def test_other_refusals_are_raised_as_they_came(
    state: Path, settings: Settings, stored: StoredProfile, clock: ManualClock
) -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Not Found"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(not_found)) as http:
        with pytest.raises(Failed) as refused:
            await sessions(state, settings, http, clock).mint(stored, copilot())

    assert refused.value.failure.kind is FailureClass.BAD_REQUEST
    assert refused.value.failure.status == 404
    assert vault(state).status(PROFILE).state == "ok"

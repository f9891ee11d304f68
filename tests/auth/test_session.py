"""`SessionMint`, GitHub Copilot's short-lived token, driven directly: minted from the stored
GitHub token and never written to the vault; a refused GitHub token is a durable
``needs_login`` with the fix; an endpoint that cannot answer is ``auth_transient``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clawgate.auth._session import SessionMint
from clawgate.auth.logins import SessionToken, login_spec
from clawgate.auth.logins._spec import SessionFactory
from clawgate.clock import ManualClock
from clawgate.config import Settings, load_config
from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.secret import Secret
from clawgate.vault import StoredProfile, TokenMaterial
from tests.auth.helpers import env_for, vault
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.anyio
PROFILE = "github-copilot:default"
FIX = "clawgate models auth login --provider github-copilot --device-code"


def copilot() -> SessionFactory:
    factory = login_spec("github-copilot", None).session
    assert factory is not None
    return factory


@dataclass(frozen=True)
class Scene:
    """A GitHub login stored as `models auth login` stores it (the GitHub token, kind `token`),
    the fake GitHub it came from, and what a `SessionMint` is built from."""

    state: Path
    settings: Settings
    stored: StoredProfile
    github: FakeGitHub
    http: httpx.AsyncClient
    clock: ManualClock

    async def mint(self, http: httpx.AsyncClient | None = None) -> SessionToken:
        """A Copilot token made from the stored login, asking through ``http`` (the fake GitHub
        by default)."""
        sessions = SessionMint(
            vault(self.state, self.clock),
            self.settings,
            self.http if http is None else http,
            self.clock,
            lock_wait=5.0,
        )
        return await sessions.mint(self.stored, copilot())


@pytest.fixture
def scene(
    state: Path,
    copilot_config: Path,
    github: FakeGitHub,
    http: httpx.AsyncClient,
    clock: ManualClock,
) -> Scene:
    settings = load_config(copilot_config, env_for(state)).settings
    token = TokenMaterial(Secret(github.github_token))
    stored = vault(state).save(PROFILE, "github-copilot", token)
    return Scene(state, settings, stored, github, http, clock)


async def test_a_session_token_is_minted_and_held_in_memory_only(scene: Scene) -> None:
    token = await scene.mint()

    assert token.token.reveal().endswith("n=1")
    assert token.expires_at == scene.clock.now() + 1800
    assert token.base_url == "https://api.individual.githubcopilot.com"
    assert scene.github.copilot_tokens == 1
    after = vault(scene.state).load(PROFILE)
    assert (after.generation, after.material) == (scene.stored.generation, scene.stored.material)
    assert after.status.state == "ok"


async def test_a_refused_github_token_is_a_durable_needs_login_with_the_fix(scene: Scene) -> None:
    scene.github.revoked = True
    with pytest.raises(Failed) as dead:
        await scene.mint()

    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.failure.fix == FIX
    after = vault(scene.state).load(PROFILE)
    assert after.status.state == "needs_login"
    assert after.status.fix == FIX
    assert after.status.since == scene.clock.now()
    assert after.material == scene.stored.material  # kept: a new login replaces it
    assert after.generation == scene.stored.generation


async def test_an_endpoint_that_cannot_answer_is_auth_transient_with_its_retry_after(
    scene: Scene,
) -> None:
    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "7"}, json={"message": "busy"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(unavailable)) as http:
        with pytest.raises(Failed) as transient:
            await scene.mint(http)

    assert transient.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert transient.value.failure.retry_after == 7
    assert vault(scene.state).status(PROFILE).state == "ok"  # nothing marked


async def test_a_token_that_arrives_expired_is_auth_transient(scene: Scene) -> None:
    # its clock is an hour behind: expires_at is in the past
    scene.github.now = scene.clock.now() - 3600
    with pytest.raises(Failed) as expired:
        await scene.mint()

    assert expired.value.failure.kind is FailureClass.AUTH_TRANSIENT
    assert "already expired" in expired.value.message
    assert vault(scene.state).status(PROFILE).state == "ok"


async def test_other_refusals_are_raised_as_they_came(scene: Scene) -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Not Found"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(not_found)) as http:
        with pytest.raises(Failed) as refused:
            await scene.mint(http)

    assert refused.value.failure.kind is FailureClass.BAD_REQUEST
    assert refused.value.failure.status == 404
    assert vault(scene.state).status(PROFILE).state == "ok"

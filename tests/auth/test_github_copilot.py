"""GitHub Copilot: a GitHub device login stored as a token profile, and the short-lived
Copilot token the broker makes from it (against a fake of GitHub's documented answers)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from clawgate import auth
from clawgate.auth.oauth import LoginTools
from clawgate.clock import ManualClock
from clawgate.config import load_config
from clawgate.failures import FailureClass
from clawgate.vault import Kind
from tests.auth.helpers import env_for, vault
from tests.auth.login_ui import ScriptedUI
from tests.fakes.github import FakeGitHub

pytestmark = pytest.mark.anyio
PROFILE = "github-copilot:default"


async def test_device_login_then_copilot_tokens_renewed_before_expiry(
    state: Path,
    copilot_config: Path,
    tools: LoginTools,
    ui: ScriptedUI,
    github: FakeGitHub,
    http: httpx.AsyncClient,
    clock: ManualClock,
) -> None:
    async def person(user_code: str, uri: str) -> None:
        assert (user_code, uri) == ("WDJB-MJHT", "https://github.com/login/device")
        github.approved = True

    ui.on_code = person
    settings = load_config(copilot_config, env_for(state)).settings
    stored = await auth.login(
        tools, vault(state, clock), settings, copilot_config, env_for(state), "github-copilot"
    )
    assert stored.profile_id == PROFILE
    assert stored.kind is Kind.TOKEN

    the_broker = auth.Broker(vault(state, clock), settings, http=http, clock=clock)
    first = await the_broker.credential(PROFILE)
    assert first.how == "refreshed"
    assert first.base_url == "https://api.individual.githubcopilot.com"
    assert first.token is not None
    assert first.token.reveal().endswith("n=1")
    clock.advance(1400)  # 400 s left: outside the 300 s margin
    assert (await the_broker.credential(PROFILE)).how == "memory"
    clock.advance(200)  # 200 s left: renewed
    github.now = clock.now()
    second = await the_broker.credential(PROFILE)
    assert second.how == "refreshed"
    assert github.copilot_tokens == 2

    github.revoked = True
    clock.advance(1800)
    with pytest.raises(auth.CredentialError) as dead:
        await the_broker.credential(PROFILE)
    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.fix == "clawgate models auth login --provider github-copilot --device-code"
    assert vault(state).status(PROFILE).state == "needs_login"

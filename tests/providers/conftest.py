"""Providers wired as in production (vault → broker → `Access` → transport) against the fake
model APIs (`tests/fakes/model_api.py`) and, for Copilot tokens, the fake GitHub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.auth import Access, Broker
from clawgate.clock import ManualClock
from clawgate.config import ProviderSettings, Settings
from clawgate.providers import Message, ModelRequest, StreamEvent
from clawgate.providers._provider import HttpProvider
from clawgate.providers.anthropic import AnthropicProvider
from clawgate.providers.github_copilot import GitHubCopilotProvider
from clawgate.providers.openai import OpenAIProvider
from clawgate.providers.openai_codex import OpenAICodexProvider
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, KeyResolver, OAuthMaterial, TokenMaterial, Vault
from tests.canary import CANARY
from tests.fakes.github import FakeGitHub
from tests.fakes.model_api import FakeModelAPI
from tests.fakes.openai_auth import AUTH_CLAIM, jwt
from tests.fakes.server import serve

NOW = 1_900_000_000.0
ACCOUNT = "acct_7c1e"
SETUP_TOKEN = "sk-ant-oat01-" + "A" * 80
HELLO = (Message("user", "Say hello."),)

# A closed loopback port: a refresh attempted against it fails at once (connection refused).
DEAD_ISSUER = "http://127.0.0.1:9"

ProviderClass = Callable[..., HttpProvider]

# name → (class, config id, base path on the fake, profile or None)
CASES: dict[str, tuple[ProviderClass, str, str, str | None]] = {
    "openai": (OpenAIProvider, "openai", "/v1", "openai:default"),
    "openai-responses": (OpenAIProvider, "oai-responses", "/v1", "oai-responses:default"),
    "openai-codex": (OpenAICodexProvider, "openai-codex", "/backend-api", "openai-codex:me"),
    "anthropic": (AnthropicProvider, "anthropic", "", "anthropic:default"),
    "github-copilot": (GitHubCopilotProvider, "github-copilot", "", "github-copilot:default"),
}
WIRE = {
    "openai": "chat",
    "openai-responses": "responses",
    "openai-codex": "responses",
    "anthropic": "messages",
    "github-copilot": "chat",
}


@pytest.fixture(scope="module")
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(now=NOW)
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged, down to httpx's and httpcore's debug lines (header traffic)."""
    caplog.set_level(logging.DEBUG)
    return caplog


@dataclass
class Harness:
    api: FakeModelAPI
    github_url: str
    broker: Broker
    clock: ManualClock

    def provider(self, case: str, base_url: str | None = None, **timeouts: float) -> HttpProvider:
        cls, name, path, _ = CASES[case]
        raw: dict[str, Any] = {"baseUrl": base_url or self.api.url + path}
        if case == "openai-responses":
            raw["api"] = "openai-responses"
        if case == "github-copilot":
            raw["oauth"] = {"copilotTokenEndpoint": self.github_url + "/copilot_internal/v2/token"}
        raw["timeouts"] = {"connect": 2, "firstToken": 5, "idle": 5, "total": 20, **timeouts}
        return cls(name, ProviderSettings.model_validate(raw), clock=self.clock)

    def access(self, case: str) -> Access | None:
        profile = CASES[case][3]
        return Access(self.broker, profile) if profile else None

    async def run(
        self,
        case: str,
        request: ModelRequest | None = None,
        *,
        provider: HttpProvider | None = None,
    ) -> list[StreamEvent]:
        """All events of one call; a failure propagates after the events before it."""
        provider = provider or self.provider(case)
        request = request or ModelRequest("m-1", HELLO)
        try:
            return [e async for e in provider.stream(request, self.access(case))]
        finally:
            await provider.aclose()


@pytest.fixture
async def harness(
    tmp_path: Path,
    api: FakeModelAPI,
    github: tuple[FakeGitHub, str],
    clock: ManualClock,
) -> AsyncIterator[Harness]:
    fake_github, github_url = github
    vault_dir = tmp_path / "vault"
    vault = Vault(vault_dir, KeyResolver(vault_dir, {}), clock=clock)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret(CANARY)))
    vault.save("oai-responses:default", "oai-responses", ApiKeyMaterial(Secret(CANARY)))
    vault.save("anthropic:default", "anthropic", ApiKeyMaterial(Secret(CANARY)))
    vault.save("anthropic:setup", "anthropic", TokenMaterial(Secret(SETUP_TOKEN)))
    claims = {AUTH_CLAIM: {"chatgpt_account_id": ACCOUNT, "chatgpt_plan_type": "plus"}}
    access = jwt({"exp": int(NOW + 10 * 86400), **claims})
    vault.save(
        "openai-codex:me",
        "openai-codex",
        OAuthMaterial(
            access=Secret(access),
            refresh=Secret("rt_" + CANARY),
            expires_at=NOW + 10 * 86400,
            account_id=ACCOUNT,
        ),
    )
    vault.save(
        "github-copilot:default", "github-copilot", TokenMaterial(Secret(fake_github.github_token))
    )
    settings = Settings.model_validate(
        {
            "models": {
                "providers": {
                    "openai-codex": {"oauth": {"issuer": DEAD_ISSUER}},
                    "github-copilot": {
                        "oauth": {"copilotTokenEndpoint": github_url + "/copilot_internal/v2/token"}
                    },
                }
            }
        }
    )
    async with httpx.AsyncClient(timeout=5) as http:
        broker = Broker(vault, settings, http=http, clock=clock, refresh_timeout=2)
        yield Harness(api, github_url, broker, clock)

"""A runtime wired as in production (state.db, vault, broker, providers) whose upstreams are
paths on the fault-injecting fake (`tests/fakes/model_api.py`), on the injected clock.

Providers (all OpenAI-compatible, each its own path on the fake):
- ``sub``: two subscription (OAuth) profiles ``sub:me`` and ``sub:alt``, and a metered key
  ``sub:key`` ordered last;
- ``key``: a metered API key profile; ``free``: no credential;
- ``small``/``big``: models with 4k and 32k context windows on the ``free`` kind.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.auth import Broker
from clawgate.clock import ManualClock
from clawgate.config import Settings
from clawgate.providers import Message
from clawgate.routing import Budget
from clawgate.runtime import Runtime, TurnFailed, TurnRequest, TurnResult
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import ApiKeyMaterial, KeyResolver, OAuthMaterial, Vault
from tests.fakes.model_api import FakeModelAPI
from tests.fakes.openai_auth import jwt

NOW = 1_900_000_000.0
HELLO = (Message("user", "Say hello."),)
DEAD_ISSUER = "http://127.0.0.1:9"


def oauth(valid_for: float = 10 * 86400) -> OAuthMaterial:
    access = jwt({"exp": int(NOW + valid_for), "sub": "me"})
    return OAuthMaterial(access=Secret(access), refresh=Secret("rt_1"), expires_at=NOW + valid_for)


def config(api: FakeModelAPI, **overrides: Any) -> dict[str, Any]:
    def provider(name: str, auth: str, **extra: Any) -> dict[str, Any]:
        return {
            "api": "openai-completions",
            "baseUrl": f"{api.url}/{name}/v1",
            "auth": auth,
            "timeouts": {"connect": 2, "firstToken": 0.5, "idle": 0.5, "total": 10},
            **extra,
        }

    document: dict[str, Any] = {
        "auth": {"order": {"sub": ["sub:me", "sub:alt", "sub:key"]}},
        "agents": {"defaults": {"model": {"primary": "sub/m", "fallbacks": ["free/m"]}}},
        "models": {
            "providers": {
                "sub": provider("sub", "oauth", oauth={"issuer": DEAD_ISSUER, "clientId": "c"}),
                "key": provider("key", "api-key"),
                "free": provider("free", "none"),
                "small": provider("small", "none", models=[{"id": "m", "contextWindow": 4096}]),
                "big": provider("big", "none", models=[{"id": "m", "contextWindow": 32768}]),
            }
        },
    }
    for dotted, value in overrides.items():
        *path, last = dotted.split("__")
        target = document
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return document


@dataclass
class World:
    api: FakeModelAPI
    clock: ManualClock
    vault: Vault
    state_db: Path
    http: httpx.AsyncClient
    slept: list[float] = field(default_factory=list)
    runtime: Runtime | None = None
    document: dict[str, Any] = field(default_factory=dict)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)

    def start(self, budget: Budget | None = None, **overrides: Any) -> Runtime:
        """A fresh runtime (a process start) on the same state.db and vault."""
        self.document = config(self.api, **overrides)
        settings = Settings.model_validate(self.document)
        broker = Broker(self.vault, settings, http=self.http, clock=self.clock, refresh_timeout=2)
        self.runtime = Runtime(
            settings,
            state=State.open(self.state_db),
            vault=self.vault,
            broker=broker,
            clock=self.clock,
            sleep=self.sleep,
            budget=budget,
        )
        return self.runtime

    async def turn(self, request: TurnRequest | None = None) -> TurnResult:
        runtime = self.runtime or self.start()
        return await runtime.complete(request or TurnRequest(HELLO))

    async def fails(self, request: TurnRequest | None = None) -> TurnFailed:
        runtime = self.runtime or self.start()
        with pytest.raises(TurnFailed) as failure:
            await runtime.complete(request or TurnRequest(HELLO))
        return failure.value

    def state(self) -> State:
        return State.open(self.state_db)


@pytest.fixture
async def world(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[World]:
    clock = ManualClock(start=NOW)
    vault_dir = tmp_path / "vault"
    vault = Vault(vault_dir, KeyResolver(vault_dir, {}), clock=clock)
    vault.save("sub:me", "sub", oauth())
    vault.save("sub:alt", "sub", oauth())
    vault.save("sub:key", "sub", ApiKeyMaterial(Secret("sk-sub-key-0001")))
    vault.save("key:default", "key", ApiKeyMaterial(Secret("sk-key-0001")))
    async with httpx.AsyncClient(timeout=5) as http:
        world = World(api, clock, vault, tmp_path / "state.db", http)
        yield world
        if world.runtime:
            await world.runtime.aclose()


@pytest.fixture
def decisions(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="clawgate.routing")
    return caplog


def steps(result: TurnResult | TurnFailed) -> list[tuple[str, str, str, str | None]]:
    """(candidate, profile, decision, reason) per record: the shape tests compare."""
    return [(a.candidate, a.profile, a.decision, a.reason) for a in result.attempts]

"""Logging in for real against the test authorization server, and building brokers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from clawgate import auth
from clawgate.auth.oauth import LoginTools
from clawgate.clock import Clock, ManualClock
from clawgate.config import Settings, load_config
from clawgate.vault import KeyResolver, StoredProfile, Vault
from tests.auth.login_ui import ScriptedUI
from tests.oidc_server import OidcServer
from tests.vault_backends import make_vault

PROFILE = "myidp:default"


def env_for(state: Path) -> dict[str, str]:
    return {"CLAWGATE_STATE_DIR": str(state)}


def write_config(state: Path, idp: OidcServer, **oauth: object) -> Path:
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = state / "clawgate.json"
    document = {"models": {"providers": {"myidp": idp.provider_settings(**oauth)}}}
    config.write_text(json.dumps(document))
    return config


def settings(state: Path) -> Settings:
    return load_config(state / "clawgate.json", env_for(state)).settings


def vault(state: Path, clock: Clock | None = None) -> Vault:
    """The state's vault, on the test's backend (`tests.vault_backends`)."""
    vault_dir = state / "vault"
    return make_vault(vault_dir, KeyResolver(vault_dir, {}), clock=clock or ManualClock())


async def device_login(idp: OidcServer, state: Path, clock: ManualClock) -> StoredProfile:
    """A real device login, approved by the test playing the person."""
    config = write_config(state, idp)
    ui = ScriptedUI()

    async def person(user_code: str, uri: str) -> None:
        await asyncio.to_thread(idp.approve_device, user_code)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await ui.settle()

    ui.on_code = person
    async with httpx.AsyncClient(timeout=10) as http:
        tools = LoginTools(http=http, clock=clock, sleep=sleep, ui=ui)
        return await auth.login(
            tools,
            vault(state, clock),
            settings(state),
            config,
            env_for(state),
            "myidp",
            device_code=True,
        )


def broker(state: Path, http: httpx.AsyncClient, clock: Clock, **options: float) -> auth.Broker:
    return auth.Broker(vault(state, clock), settings(state), http=http, clock=clock, **options)

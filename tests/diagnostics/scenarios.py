"""The broker's scenarios, each a change to a fresh login against the test authorization
server, and the two ways to meet one: a probe, and a real turn."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from clawgate.auth import Broker
from clawgate.auth.oauth import OAuthClient, revoke
from clawgate.clock import ManualClock
from clawgate.config import edit_config
from clawgate.providers import Message
from clawgate.runtime import (
    ProbeResult,
    ProbeTarget,
    Runtime,
    TurnFailed,
    TurnRequest,
    probe,
)
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import OAuthMaterial
from tests.auth.helpers import PROFILE, device_login, env_for, settings, vault
from tests.fakes.model_api import FakeModelAPI
from tests.oidc_server import CLIENT_ID, OidcServer

HOUR = 3600.0
TARGET = ProbeTarget(PROFILE, "myidp", "m")


async def logged_in(idp: OidcServer, api: FakeModelAPI, state: Path, clock: ManualClock) -> None:
    await device_login(idp, state, clock)

    def point_at_the_model_api(raw: dict[str, Any]) -> None:
        entry = raw["models"]["providers"]["myidp"]
        entry.update(baseUrl=f"{api.url}/myidp/v1", models=[{"id": "m"}])
        raw["agents"] = {"defaults": {"model": {"primary": "myidp/m"}}}

    edit_config(state / "clawgate.json", env_for(state), point_at_the_model_api)


@contextlib.asynccontextmanager
async def runtime_for(state: Path, clock: ManualClock, **broker: float) -> AsyncIterator[Runtime]:
    db = State.open(state / "state.db")
    async with httpx.AsyncClient(timeout=10) as http:
        the_vault = vault(state, clock)
        brokered = Broker(the_vault, settings(state), http=http, clock=clock, **broker)
        runtime = Runtime(settings(state), state=db, vault=the_vault, broker=brokered, clock=clock)
        try:
            yield runtime
        finally:
            await runtime.aclose()
            db.close()


# The broker's scenarios, each a change to a fresh login ----------------------------------


async def nothing(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    pass


async def expiring(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    clock.advance(HOUR - 4 * 60)  # inside the refresh margin


async def dead_grant(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    material = vault(state).load(PROFILE).material
    assert isinstance(material, OAuthMaterial)
    assert material.refresh is not None
    client = OAuthClient(
        client_id=CLIENT_ID,
        token_endpoint=f"{idp.issuer}/token",
        revocation_endpoint=f"{idp.issuer}/token/revocation",
    )
    async with httpx.AsyncClient(timeout=10) as http:
        await revoke(http, client, material.refresh, hint="refresh_token", now=clock.now())
    clock.advance(2 * HOUR)


async def rejected_access(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    """An access token with time left that the issuer no longer accepts."""
    material = vault(state).load(PROFILE).material
    assert isinstance(material, OAuthMaterial)
    planted = replace(material, access=Secret("rejected-access-token-0000"))
    vault(state).save(PROFILE, "myidp", replace(planted, expires_at=clock.now() + HOUR))


async def issuer_slow(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    """The token endpoint does not answer in time while the access token still works."""
    clock.advance(HOUR - 4 * 60)
    idp.token_delay(5_000)


async def tampered(idp: OidcServer, state: Path, clock: ManualClock) -> None:
    envelope = vault(state).envelope_path(PROFILE)
    raw = bytearray(envelope.read_bytes())
    raw[-10] ^= 0x01
    envelope.write_bytes(bytes(raw))


Scenario = Callable[[OidcServer, Path, ManualClock], Any]
SCENARIOS: dict[str, Scenario] = {
    "valid": nothing,
    "expiring": expiring,
    "dead_grant": dead_grant,
    "rejected_access": rejected_access,
    "issuer_slow": issuer_slow,
    "tampered": tampered,
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    failure: str | None
    state_after: str  # the vault's status of the profile afterwards


async def probed(idp: OidcServer, api: FakeModelAPI, state: Path, name: str) -> ProbeResult:
    clock = ManualClock(start=1_900_000_000.0)
    await logged_in(idp, api, state, clock)
    await SCENARIOS[name](idp, state, clock)
    try:
        async with runtime_for(state, clock, refresh_timeout=0.5) as runtime:
            [result] = await probe(runtime, [TARGET])
    finally:
        idp.token_delay(0)
    return result


async def turned(idp: OidcServer, api: FakeModelAPI, state: Path, name: str) -> Verdict:
    clock = ManualClock(start=1_900_000_000.0)
    await logged_in(idp, api, state, clock)
    await SCENARIOS[name](idp, state, clock)
    request = TurnRequest((Message("user", "hi"),), model="myidp/m")
    try:
        async with runtime_for(state, clock, refresh_timeout=0.5) as runtime:
            await runtime.complete(request)
        failure = None
    except TurnFailed as exc:
        failure = exc.code
    finally:
        idp.token_delay(0)
    return Verdict(failure is None, failure, state_of(state))


def state_of(state: Path) -> str:
    return vault(state).status(PROFILE).state

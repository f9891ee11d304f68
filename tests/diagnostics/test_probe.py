"""The probe against a real authorization server and a model API that accepts only the
tokens that server accepts: the probe takes the turn's path, so for every broker scenario a
probe and a real turn reach the same verdict (AUTH.md, "Failure modes" 1)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

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
    probe_targets,
)
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import OAuthMaterial
from tests.auth.helpers import PROFILE, device_login, env_for, settings, vault
from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply, Seen
from tests.oidc_server import CLIENT_ID, OidcServer, oidc_server

pytestmark = pytest.mark.anyio
HOUR = 3600.0
TARGET = ProbeTarget(PROFILE, "myidp", "m")


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


@pytest.fixture
def guarded(api: FakeModelAPI, idp: OidcServer) -> FakeModelAPI:
    """The model API answers only requests whose bearer the authorization server accepts."""

    def authorize(seen: Seen) -> Reply | None:
        header = {"Authorization": seen.headers.get("authorization", "")}
        accepted = httpx.get(f"{idp.issuer}/me", headers=header).status_code == 200
        return None if accepted else OPENAI["unauthorized"]

    api.authorize = authorize
    return api


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
        failure = exc.failure.value
    finally:
        idp.token_delay(0)
    return Verdict(failure is None, failure, _state(state))


def _state(state: Path) -> str:
    return vault(state).status(PROFILE).state


VERDICTS = {
    "valid": Verdict(True, None, "ok"),
    "expiring": Verdict(True, None, "ok"),
    "dead_grant": Verdict(False, "auth_dead", "needs_login"),
    "rejected_access": Verdict(True, None, "ok"),
    "issuer_slow": Verdict(True, None, "ok"),
    "tampered": Verdict(False, "auth_dead", "ok"),  # unreadable, so never marked: shown as such
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_probe_and_a_turn_agree(
    name: str, idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    result = await probed(idp, guarded, tmp_path / "probe", name)
    turn = await turned(idp, guarded, tmp_path / "turn", name)
    assert Verdict(result.ok, result.failure, _state(tmp_path / "probe")) == turn
    assert turn == VERDICTS[name]


async def test_each_step_of_the_probe_is_reported(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    steps = {}
    for name in SCENARIOS:
        before = idp.refreshes()["success"]
        result = await probed(idp, guarded, tmp_path / name, name)
        steps[name] = (result.credential, result.request, idp.refreshes()["success"] - before)
    assert steps == {
        "valid": ("vault", "ok", 0),  # a still-valid access token: no refresh
        "expiring": ("refreshed", "ok", 1),
        "dead_grant": ("failed", "skipped", 0),
        "rejected_access": ("refreshed_after_401", "ok", 1),
        "issuer_slow": ("stale-but-valid", "ok", 0),
        "tampered": ("failed", "skipped", 0),
    }


async def test_a_dead_grant_names_the_login_command(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    result = await probed(idp, guarded, tmp_path, "dead_grant")
    assert result.failure == "auth_dead"
    assert result.fix == "clawgate models auth login --provider myidp --device-code"
    assert vault(tmp_path).status(PROFILE).fix == result.fix
    # And the probe is on record, with the process that ran it.
    db = State.open(tmp_path / "state.db")
    record = db.probes.latest()[PROFILE]
    db.close()
    assert (record.ok, record.failure, record.ran_in) == (False, "auth_dead", "process")
    assert record.result["fix"] == result.fix


async def test_targets_are_the_stored_profiles_and_the_chain(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    clock = ManualClock(start=1_900_000_000.0)
    await logged_in(idp, guarded, tmp_path, clock)

    def add_local_fallback(raw: dict[str, Any]) -> None:
        raw["agents"]["defaults"]["model"]["fallbacks"] = ["local/smollm2-135m"]

    edit_config(tmp_path / "clawgate.json", env_for(tmp_path), add_local_fallback)
    async with runtime_for(tmp_path, clock) as runtime:
        assert probe_targets(runtime) == [
            ProbeTarget("local:default", "local", "smollm2-135m"),
            TARGET,
        ]
        assert probe_targets(runtime, provider="myidp") == [TARGET]
        assert probe_targets(runtime, profile="nobody:else") == []

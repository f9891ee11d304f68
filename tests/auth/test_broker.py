"""The broker against a real authorization server that rotates refresh tokens and revokes
the whole grant when a rotated one is replayed (docs/auth.md, "The credential broker")."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from clawgate import auth
from clawgate.auth.oauth import OAuthClient, TokenError, refresh, revoke
from clawgate.clock import ManualClock
from clawgate.failures import FailureClass
from clawgate.secret import Secret
from clawgate.vault import OAuthMaterial
from tests.auth.broker_worker import collect, release, start_workers
from tests.auth.helpers import PROFILE, broker, device_login, vault
from tests.oidc_server import CLIENT_ID, OidcServer
from tests.vault_backends import held_elsewhere

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("vault_backend")]  # files and PostgreSQL
HOUR = 3600.0
ROOT = Path(__file__).parents[2]


def refresh_token(state: Path) -> str:
    material = vault(state).load(PROFILE).material
    assert isinstance(material, OAuthMaterial)
    assert material.refresh is not None
    return material.refresh.reveal()


def client(idp: OidcServer) -> OAuthClient:
    return OAuthClient(
        client_id=CLIENT_ID,
        token_endpoint=f"{idp.issuer}/token",
        revocation_endpoint=f"{idp.issuer}/token/revocation",
    )


async def me(idp: OidcServer, http: httpx.AsyncClient, credential: auth.Credential) -> int:
    assert credential.token is not None
    headers = {"Authorization": f"Bearer {credential.token.reveal()}"}
    return (await http.get(f"{idp.issuer}/me", headers=headers)).status_code


async def test_a_valid_token_is_used_without_refreshing(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    stored = await device_login(idp, state, clock)
    before = idp.refreshes()
    the_broker = broker(state, http, clock)
    hows = []
    for _ in range(10):  # 50 minutes of turns inside a 60-minute token, margin 5 minutes
        credential = await the_broker.credential(PROFILE)
        hows.append(credential.how)
        assert await me(idp, http, credential) == 200
        clock.advance(5 * 60)
    assert hows == ["vault"] + ["memory"] * 9
    assert idp.refreshes() == before
    assert vault(state).generation(PROFILE) == stored.generation


async def test_expiry_refreshes_once_and_the_rotated_token_is_on_disk_first(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    stored = await device_login(idp, state, clock)
    old_refresh = refresh_token(state)
    before = idp.refreshes()["success"]
    the_broker = broker(state, http, clock)
    clock.advance(HOUR - 4 * 60)  # inside the refresh margin
    credential = await the_broker.credential(PROFILE)

    assert credential.how == "refreshed"
    assert idp.refreshes()["success"] == before + 1
    assert credential.generation == stored.generation + 1
    # A fresh reader of the vault sees the rotated token and the new generation.
    on_disk = vault(state).load(PROFILE)
    assert on_disk.generation == credential.generation
    assert refresh_token(state) != old_refresh
    assert isinstance(on_disk.material, OAuthMaterial)
    assert on_disk.material.access == credential.token
    assert await me(idp, http, credential) == 200
    # And the next calls use it from memory.
    assert (await the_broker.credential(PROFILE)).how == "memory"


async def test_without_the_lock_two_refreshes_revoke_the_whole_grant(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    """The failure the broker exists to prevent, shown directly on the server."""
    await device_login(idp, state, clock)
    token = vault(state).load(PROFILE).material
    assert isinstance(token, OAuthMaterial)
    assert token.refresh is not None
    first = await refresh(http, client(idp), token.refresh, now=clock.now())
    with pytest.raises(TokenError) as replay:
        await refresh(http, client(idp), token.refresh, now=clock.now())
    assert replay.value.failure.kind is FailureClass.AUTH_DEAD
    assert first.refresh_token is not None
    with pytest.raises(TokenError) as revoked:
        await refresh(http, client(idp), first.refresh_token, now=clock.now())
    assert revoked.value.failure.code == "invalid_grant"


async def test_a_dead_grant_is_durable_needs_login_and_material_is_kept(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    stored = await device_login(idp, state, clock)
    await revoke(
        http,
        client(idp),
        vault(state).load(PROFILE).material.refresh,  # type: ignore[union-attr,arg-type]
        hint="refresh_token",
        now=clock.now(),
    )
    clock.advance(2 * HOUR)
    errors_before = idp.refreshes()["error"]
    with pytest.raises(auth.CredentialError) as dead:
        await broker(state, http, clock).credential(PROFILE)
    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.fix == "clawgate models auth login --provider myidp --device-code"

    after = vault(state).load(PROFILE)
    assert after.generation == stored.generation  # nothing blanked, nothing rewritten
    assert after.material == stored.material
    assert after.status.state == "needs_login"
    assert after.status.fix == dead.value.fix
    assert after.status.message is not None
    assert "refused" in after.status.message

    # Durable: another process (a new broker) does not try again.
    with pytest.raises(auth.CredentialError, match="needs a new login"):
        await broker(state, http, clock).credential(PROFILE)
    assert idp.refreshes()["error"] == errors_before + 1

    # A new login clears it.
    await device_login(idp, state, clock)
    assert vault(state).status(PROFILE).state == "ok"
    assert (await broker(state, http, clock).credential(PROFILE)).how == "vault"


def plant_rejected_token(state: Path, clock: ManualClock) -> int:
    """Store an access token with time left that the issuer does not accept (revoked on its
    side, say), keeping the real refresh token; returns the new generation."""
    material = vault(state).load(PROFILE).material
    assert isinstance(material, OAuthMaterial)
    rejected = replace(material, access=Secret("rejected-access-token-0000"))
    rejected = replace(rejected, expires_at=clock.now() + HOUR)
    return vault(state).save(PROFILE, "myidp", rejected).generation


async def test_a_401_forces_one_refresh_and_one_retry(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    await device_login(idp, state, clock)
    planted = plant_rejected_token(state, clock)
    before = idp.refreshes()["success"]
    the_broker = broker(state, http, clock)
    flow = auth.BrokerAuth(the_broker, PROFILE)
    response = await http.get(f"{idp.issuer}/me", auth=flow)
    assert response.status_code == 200
    assert [c.how for c in flow.used] == ["vault", "refreshed"]
    assert flow.used[1].generation == planted + 1
    assert idp.refreshes()["success"] == before + 1


async def test_a_401_adopts_what_another_process_stored_instead_of_refreshing(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    await device_login(idp, state, clock)
    planted = plant_rejected_token(state, clock)
    the_broker = broker(state, http, clock)
    assert (await the_broker.credential(PROFILE)).generation == planted
    # Meanwhile another process gets a good token (a forced refresh) and stores it.
    other = await broker(state, http, clock).credential(
        PROFILE, force_refresh_if_generation=planted
    )
    assert other.how == "refreshed"
    before = idp.refreshes()["success"]
    flow = auth.BrokerAuth(the_broker, PROFILE)
    response = await http.get(f"{idp.issuer}/me", auth=flow)
    assert response.status_code == 200
    assert [c.how for c in flow.used] == ["memory", "adopted"]
    assert idp.refreshes()["success"] == before


async def test_a_second_401_is_returned_not_retried(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    await device_login(idp, state, clock)
    the_broker = broker(state, http, clock)
    flow = auth.BrokerAuth(the_broker, PROFILE)
    seen: list[str] = []

    def refuse_everything(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401, json={"error": {"code": "token_expired"}})

    # A resource that refuses every token: one refresh, one retry, then its 401 is the answer.
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse_everything)) as resource:
        response = await resource.get("http://model.invalid/v1/x", auth=flow)
    assert response.status_code == 401
    assert [c.how for c in flow.used] == ["vault", "refreshed"]
    assert len(seen) == 2
    assert seen[0] != seen[1]


async def test_a_refresh_storm_across_processes_makes_exactly_one_refresh(
    idp: OidcServer, state: Path, clock: ManualClock
) -> None:
    await device_login(idp, state, clock)
    before = idp.refreshes()
    workers = start_workers(state, processes=8, callers=20, now=clock.now() + 2 * HOUR)
    release(workers)
    results = collect(workers)

    after = idp.refreshes()
    assert after["success"] - before["success"] == 1
    assert after["error"] == before["error"]
    calls = [call for process in results for call in process]
    assert len(calls) == 160
    assert all(call.get("me") == 200 for call in calls), calls
    refreshed = [p for p in results if any(c["how"] == "refreshed" for c in p)]
    assert len(refreshed) == 1
    assert {c["generation"] for c in calls} == {vault(state).generation(PROFILE)}


async def test_a_refresher_killed_mid_request_leaves_the_store_consistent(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    stored = await device_login(idp, state, clock)
    before = idp.refreshes()["success"]
    idp.token_delay(10_000)
    try:
        [victim] = start_workers(state, processes=1, callers=5, now=clock.now() + 2 * HOUR)
        release([victim])
        # Wait until the victim holds the profile's lock, i.e. is inside the refresh.
        deadline = 200
        while deadline:
            if held_elsewhere(vault(state), PROFILE):
                break
            deadline -= 1
            assert victim.poll() is None, "the worker exited before it took the lock"
            await anyio.sleep(0.05)
        assert deadline, "the worker never took the lock"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        victim.stdin.close()
        victim.stdout.close()  # type: ignore[union-attr]
    finally:
        idp.token_delay(0)

    after_kill = vault(state).load(PROFILE)
    assert after_kill.generation == stored.generation
    assert after_kill.material == stored.material
    assert idp.refreshes()["success"] == before  # the request never reached the issuer

    clock.advance(2 * HOUR)
    credential = await broker(state, http, clock, lock_wait=5).credential(PROFILE)
    assert credential.how == "refreshed"
    assert await me(idp, http, credential) == 200
    assert idp.refreshes()["success"] == before + 1

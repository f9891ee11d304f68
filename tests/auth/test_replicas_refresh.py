"""One refresh across replicas: processes with state directories of their own share one
PostgreSQL database (and, each from its own key file, one vault key), as gateway replicas on
several machines would. The profile's lock is a PostgreSQL advisory lock, so an expiring
OAuth login met by all of them at once is refreshed once (docs/auth.md, "Where the vault
keeps its bytes"), and a replica killed while it holds the lock lets the others go on."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest

from clawgate import auth
from clawgate.clock import ManualClock
from clawgate.failures import FailureClass
from clawgate.postgres import StoreUnavailable
from clawgate.secret import Secret
from clawgate.vault import OAuthMaterial
from tests.auth.broker_worker import collect, release, start_workers
from tests.auth.helpers import PROFILE, broker, device_login, vault
from tests.canary import CANARY
from tests.oidc_server import OidcServer
from tests.postgres import PostgresServer, running_postgres
from tests.vault_backends import held_elsewhere, on_database, tables_bytes, using_database

__all__ = ["on_database"]

pytestmark = pytest.mark.anyio
HOUR = 3600.0


def replicas(first: Path, count: int) -> list[Path]:
    """``count`` state directories: ``first`` (where the login was made) and copies of its
    config and key file, nothing else: the envelopes are in the database."""
    made = [first]
    for n in range(1, count):
        other = first.parent / f"replica-{n}"
        (other / "vault").mkdir(parents=True, mode=0o700)
        other.chmod(0o700)
        shutil.copy2(first / "clawgate.json", other / "clawgate.json")
        shutil.copy2(first / "vault" / "key", other / "vault" / "key")
        made.append(other)
    return made


def waiting_for_locks(url: str) -> int:
    """How many sessions wait on an advisory lock now."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def until(done: Callable[[], bool], victim: subprocess.Popen[str], what: str) -> None:
    """Poll ``done`` (for a state, not for time to pass) while the victim lives."""
    for _ in range(600):
        if done():
            return
        assert victim.poll() is None, f"the victim exited before it {what}"
        await anyio.sleep(0.05)
    pytest.fail(f"never {what}")


def spread(
    dirs: list[Path], processes: int, callers: int, now: float
) -> list[subprocess.Popen[str]]:
    """``processes`` workers spread over the replicas' state directories."""
    workers: list[subprocess.Popen[str]] = []
    for n in range(processes):
        workers += start_workers(dirs[n % len(dirs)], processes=1, callers=callers, now=now)
    return workers


async def test_replicas_on_one_database_refresh_once(
    idp: OidcServer, state: Path, clock: ManualClock, on_database: str
) -> None:
    await device_login(idp, state, clock)
    dirs = replicas(state, 3)
    assert not (dirs[1] / "vault" / "profiles").exists()  # nothing but the key on disk
    before = idp.refreshes()
    workers = spread(dirs, processes=8, callers=20, now=clock.now() + 2 * HOUR)
    release(workers)
    results = collect(workers)

    after = idp.refreshes()
    assert after["success"] - before["success"] == 1  # one grant used, once
    assert after["error"] == before["error"]  # no replay of a rotated token
    calls = [call for process in results for call in process]
    assert len(calls) == 160
    assert all(call.get("me") == 200 for call in calls), calls  # every caller a working token
    assert sum(any(c["how"] == "refreshed" for c in p) for p in results) == 1
    assert {c["generation"] for c in calls} == {vault(state).generation(PROFILE)}


async def test_a_replica_killed_holding_the_lock_lets_another_finish(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient, on_database: str
) -> None:
    stored = await device_login(idp, state, clock)
    dirs = replicas(state, 3)
    before = idp.refreshes()
    now = clock.now() + 2 * HOUR
    # Started first, so that the window below holds no interpreter start-up; each waits.
    others = spread(dirs[1:], processes=4, callers=5, now=now)
    [victim] = start_workers(dirs[0], processes=1, callers=5, now=now)
    idp.token_delay(10_000)  # the victim's refresh hangs at the issuer, the lock held
    try:
        release([victim])
        await until(lambda: held_elsewhere(vault(state), PROFILE), victim, "took the lock")
        release(others)
        await until(lambda: waiting_for_locks(on_database) >= len(others), victim, "queued")
        os.kill(victim.pid, signal.SIGKILL)  # its session ends: PostgreSQL drops its lock
    except BaseException:
        for worker in others:
            worker.kill()
            worker.communicate()
        raise
    finally:
        idp.token_delay(0)
        victim.kill()
        victim.communicate()
    results = collect(others)

    after = idp.refreshes()
    assert after["error"] == before["error"]  # nothing replayed, the grant is alive
    assert after["success"] - before["success"] == 1  # the victim's never reached the issuer
    calls = [call for process in results for call in process]
    assert len(calls) == 20
    assert all(call.get("me") == 200 for call in calls), calls
    latest = vault(state).load(PROFILE)
    assert latest.generation > stored.generation
    assert {c["generation"] for c in calls} == {latest.generation}
    # No lost grant: the stored refresh token still works.
    clock.advance(4 * HOUR)
    credential = await broker(state, http, clock).credential(PROFILE)
    assert credential.how == "refreshed"
    assert idp.refreshes()["error"] == before["error"]


async def test_a_copied_database_holds_neither_the_key_nor_a_token(
    idp: OidcServer, state: Path, clock: ManualClock, on_database: str
) -> None:
    stored = await device_login(idp, state, clock)
    the_vault = vault(state)
    the_vault.save_secret("gateway", Secret(CANARY))
    material = stored.material
    assert isinstance(material, OAuthMaterial)
    dump = tables_bytes(on_database)
    assert stored.profile_id.encode() in dump  # the rows are there, sealed
    tokens = [material.access, material.refresh, material.id_token, Secret(CANARY)]
    for token in tokens:
        if token is not None:
            assert token.reveal().encode() not in dump
    key = the_vault.key()
    for secret in (key.key, key.ledger_key):
        for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
            assert form not in dump


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server of this module's own, to stop mid-refresh (the session's is shared)."""
    with running_postgres() as server:
        yield server


async def test_a_refresh_whose_commit_failed_is_reported_not_looped(
    idp: OidcServer,
    state: Path,
    clock: ManualClock,
    http: httpx.AsyncClient,
    own_server: PostgresServer,
) -> None:
    """The crash window (docs/auth.md): the issuer rotated the grant, the database was gone
    before the rotated token was committed. The new token is never used unstored; the next
    refresh replays the old one, the issuer revokes the grant, and the login is reported dead
    once, not retried."""
    with using_database(own_server.database()):
        await device_login(idp, state, clock)
        the_broker = broker(state, http, clock)
        before = idp.refreshes()
        clock.advance(2 * HOUR)
        idp.token_delay(8_000)  # the refresh hangs at the issuer, the lock held
        try:
            flight = asyncio.ensure_future(the_broker.credential(PROFILE))
            for _ in range(400):  # polling for the lock to be taken, not waiting for time
                if held_elsewhere(vault(state), PROFILE):
                    break
                await anyio.sleep(0.05)
            else:
                pytest.fail("the refresh never took the lock")
            own_server.stop()
            try:
                with pytest.raises(StoreUnavailable, match="state store"):
                    await flight  # the grant was rotated, its commit failed: said, not used
            finally:
                own_server.start()
        finally:
            idp.token_delay(0)
        assert idp.refreshes()["success"] == before["success"] + 1

        with pytest.raises(auth.CredentialError) as dead:
            await the_broker.credential(PROFILE)
        assert dead.value.failure.kind is FailureClass.AUTH_DEAD
        assert vault(state).status(PROFILE).state == "needs_login"
        replayed = idp.refreshes()
        with pytest.raises(auth.CredentialError):  # reported once: no request again
            await broker(state, http, clock).credential(PROFILE)
        assert idp.refreshes() == replayed


async def test_a_login_through_one_replica_is_used_by_the_next_turn_of_another(
    idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient, on_database: str
) -> None:
    first = await device_login(idp, state, clock)
    a, b = replicas(state, 2)
    on_b = broker(b, http, clock)
    assert (await on_b.credential(PROFILE)).generation == first.generation
    again = await device_login(idp, a, clock)  # a new login, through replica A
    assert again.generation == first.generation + 1
    # B's next turn: the router reads the generation (one query) and drops what it held.
    generation = on_b.generation(PROFILE)
    assert generation == again.generation
    on_b.observe(PROFILE, generation)
    credential = await on_b.credential(PROFILE)
    assert (credential.how, credential.generation) == ("vault", again.generation)
    assert credential.token is not None
    assert isinstance(again.material, OAuthMaterial)
    assert credential.token == again.material.access

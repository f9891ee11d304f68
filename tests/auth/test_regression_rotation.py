"""The reported failure, replayed: a ChatGPT-style login whose access token lives 10 days.

Many turns use it without a refresh; after expiry exactly one refresh happens, the rotated
refresh token is on disk, a fresh process works with it, and a probe and a turn agree at
every step, including after the grant dies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clawgate import auth
from clawgate.auth.oauth import OAuthClient, revoke
from clawgate.clock import ManualClock
from clawgate.failures import FailureClass
from clawgate.vault import OAuthMaterial
from tests.auth.broker_worker import collect, release, start_workers
from tests.auth.helpers import PROFILE, broker, device_login, vault
from tests.oidc_server import CLIENT_ID, OidcServer, oidc_server

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("vault_backend")]  # files and PostgreSQL
DAY = 86400.0


@pytest.fixture
def ten_day_idp() -> Iterator[OidcServer]:
    """One server per run (per backend): the test counts its refreshes from zero."""
    with oidc_server(DEVICE_INTERVAL="1", ACCESS_TOKEN_TTL=str(int(10 * DAY))) as server:
        yield server


async def step(
    idp: OidcServer, the_broker: auth.Broker, http: httpx.AsyncClient
) -> tuple[auth.CredentialCheck, int | str]:
    """A probe, then a turn (a request through the broker's auth flow); both are returned."""
    probe = await auth.check_credential(the_broker, PROFILE)
    try:
        turn = await http.get(f"{idp.issuer}/me", auth=auth.BrokerAuth(the_broker, PROFILE))
    except auth.CredentialError as exc:
        return probe, exc.code
    return probe, turn.status_code


def fresh_process(state: Path, now: float) -> list[dict[str, object]]:
    workers = start_workers(state, processes=1, callers=1, now=now)
    release(workers)
    [result] = collect(workers)
    return result


async def test_ten_day_token_rotation_end_to_end(
    ten_day_idp: OidcServer, state: Path, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    idp = ten_day_idp
    await device_login(idp, state, clock)
    the_broker = broker(state, http, clock)

    # Nine and a half days of turns, twice a day: never a refresh.
    for _ in range(19):
        probe, turn = await step(idp, the_broker, http)
        assert probe.ok
        assert turn == 200
        clock.advance(DAY / 2)
    assert idp.refreshes() == {"success": 0, "error": 0}

    # Expiry (inside the 5-minute margin): exactly one refresh, by whichever comes first.
    clock.advance(DAY / 2 - 60)
    old = vault(state).load(PROFILE)
    probe, turn = await step(idp, the_broker, http)
    assert probe.ok
    assert probe.how == "refreshed"
    assert turn == 200
    assert idp.refreshes() == {"success": 1, "error": 0}
    new = vault(state).load(PROFILE)
    assert new.generation == old.generation + 1
    assert isinstance(new.material, OAuthMaterial)
    assert isinstance(old.material, OAuthMaterial)
    assert new.material.refresh != old.material.refresh

    # A fresh process uses the stored token as is, then refreshes with the rotated one.
    [as_is] = fresh_process(state, clock.now())
    assert (as_is["how"], as_is["generation"], as_is["me"]) == ("vault", new.generation, 200)
    [rotated] = fresh_process(state, clock.now() + 11 * DAY)
    after = (rotated["how"], rotated["generation"], rotated["me"])
    assert after == ("refreshed", new.generation + 1, 200)
    assert idp.refreshes() == {"success": 2, "error": 0}

    # The grant dies on the issuer's side: probe and turn both say so, with the same fix.
    stored = vault(state).load(PROFILE).material
    assert isinstance(stored, OAuthMaterial)
    assert stored.refresh is not None
    issuer = OAuthClient(
        CLIENT_ID, f"{idp.issuer}/token", revocation_endpoint=f"{idp.issuer}/token/revocation"
    )
    await revoke(http, issuer, stored.refresh, hint="refresh_token", now=clock.now())
    clock.advance(22 * DAY)
    probe, turn = await step(idp, the_broker, http)
    assert not probe.ok
    assert probe.failure is FailureClass.AUTH_DEAD
    assert probe.fix == "clawgate models auth login --provider myidp --device-code"
    assert turn == FailureClass.AUTH_DEAD.value
    assert vault(state).status(PROFILE).state == "needs_login"

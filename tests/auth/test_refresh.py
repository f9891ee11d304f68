"""`GrantRefresh`, steps 3-7 for an OAuth grant, driven directly against the real test
authorization server (its token endpoint scripted where a test needs an answer the server
would not give): adopt under the lock, refresh and persist, and each failure class."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from clawgate import auth
from clawgate.auth._refresh import GrantRefresh, PutOff, Renewed
from clawgate.clock import ManualClock
from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.secret import Secret
from clawgate.vault import Held, OAuthMaterial, ProfileStatus, StoredProfile
from tests.auth.helpers import PROFILE, device_login, settings, vault
from tests.oidc_server import OidcServer

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("vault_backend")]  # files and PostgreSQL
HOUR = 3600.0
FIX = "clawgate models auth login --provider myidp --device-code"

Answer = Callable[[httpx.Request], httpx.Response]


class ScriptedTokenEndpoint(httpx.AsyncBaseTransport):
    """The real server, except that its token endpoint answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.answer = answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/token"):
            return self.answer(request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Answer], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(answer: Answer) -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(transport=ScriptedTokenEndpoint(answer), timeout=10))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


@dataclass(frozen=True)
class Scene:
    """A real device login on the test server, and what a `GrantRefresh` is built from."""

    idp: OidcServer
    state: Path
    logged_in: StoredProfile
    http: httpx.AsyncClient
    clock: ManualClock

    def refresher(self, http: httpx.AsyncClient | None = None, **options: float) -> GrantRefresh:
        """A refresher over this login's vault, asking through ``http`` (the real server by
        default); ``options`` override margin 300 s, lock_wait 5 s and timeout 4 s."""
        chosen = {"margin": 300.0, "lock_wait": 5.0, "timeout": 4.0, **options}
        return GrantRefresh(
            vault(self.state, self.clock),
            settings(self.state),
            self.http if http is None else http,
            self.clock,
            expires=auth.material_expiry,
            margin=chosen["margin"],
            lock_wait=chosen["lock_wait"],
            timeout=chosen["timeout"],
        )

    def inside_the_margin(self) -> None:
        """Let the hour-long access token come within four minutes of expiring."""
        self.clock.advance(HOUR - 4 * 60)


@pytest.fixture
async def scene(idp: OidcServer, state: Path, http: httpx.AsyncClient, clock: ManualClock) -> Scene:
    return Scene(idp, state, await device_login(idp, state, clock), http, clock)


def grant(stored: StoredProfile) -> OAuthMaterial:
    assert isinstance(stored.material, OAuthMaterial)
    return stored.material


async def test_an_expiring_grant_is_refreshed_and_on_disk_before_it_is_returned(
    scene: Scene,
) -> None:
    before = scene.idp.refreshes()["success"]
    scene.inside_the_margin()

    outcome = await scene.refresher().renew(scene.logged_in, None)

    assert isinstance(outcome, Renewed)
    assert outcome.how == "refreshed"
    assert outcome.stored.generation == scene.logged_in.generation + 1
    assert scene.idp.refreshes()["success"] == before + 1
    on_disk = vault(scene.state).load(PROFILE)
    assert on_disk.generation == outcome.stored.generation
    assert on_disk.material == outcome.stored.material
    assert grant(on_disk).refresh != grant(scene.logged_in).refresh  # rotated, and stored
    assert on_disk.status.refreshed_at == scene.clock.now()


async def test_a_newer_valid_generation_is_adopted_without_a_request(scene: Scene) -> None:
    before = scene.idp.refreshes()
    # Another process stored a good token after this one read the vault.
    newer = vault(scene.state).save(PROFILE, "myidp", grant(scene.logged_in))

    outcome = await scene.refresher().renew(scene.logged_in, scene.logged_in.generation)

    assert outcome == Renewed(newer, "adopted")
    assert scene.idp.refreshes() == before


async def test_a_forced_refresh_does_not_adopt_the_rejected_generation(scene: Scene) -> None:
    before = scene.idp.refreshes()["success"]
    # Valid for an hour, but a model endpoint refused it (step 8).
    outcome = await scene.refresher().renew(scene.logged_in, scene.logged_in.generation)

    assert isinstance(outcome, Renewed)
    assert outcome.how == "refreshed"
    assert outcome.stored.generation == scene.logged_in.generation + 1
    assert scene.idp.refreshes()["success"] == before + 1


async def test_a_dead_grant_is_marked_needs_login_and_the_material_kept(
    scene: Scene, scripted: Callable[[Answer], httpx.AsyncClient]
) -> None:
    def revoked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "gone"})

    scene.clock.advance(2 * HOUR)
    with pytest.raises(Failed) as dead:
        await scene.refresher(scripted(revoked)).renew(scene.logged_in, None)

    assert dead.value.failure.kind is FailureClass.AUTH_DEAD
    assert dead.value.failure.fix == FIX
    after = vault(scene.state).load(PROFILE)
    assert (after.generation, after.material) == (
        scene.logged_in.generation,
        scene.logged_in.material,
    )
    assert after.status.state == "needs_login"
    assert after.status.fix == FIX
    assert after.status.message is not None
    assert "refused" in after.status.message


async def test_a_profile_marked_needs_login_gets_no_request(scene: Scene) -> None:
    vault(scene.state).mark(PROFILE, ProfileStatus(state="needs_login", message="gone", fix=FIX))
    before = scene.idp.refreshes()
    scene.clock.advance(2 * HOUR)

    with pytest.raises(Failed, match="needs a new login: gone") as dead:
        await scene.refresher().renew(scene.logged_in, None)

    assert dead.value.failure.fix == FIX
    assert scene.idp.refreshes() == before


async def test_a_reuse_refusal_after_another_writer_adopts_what_it_wrote(
    scene: Scene, scripted: Callable[[Answer], httpx.AsyncClient]
) -> None:
    written: list[StoredProfile] = []

    def rotated_meanwhile(request: httpx.Request) -> httpx.Response:
        # A writer that did not take the lock rotated the grant while the request was out.
        other = replace(grant(scene.logged_in), access=Secret("another-writers-access-0001"))
        other = replace(other, expires_at=scene.clock.now() + HOUR)
        written.append(Held(vault(scene.state, scene.clock), PROFILE).save("myidp", other))
        return httpx.Response(400, json={"error": "refresh_token_reused"})

    scene.inside_the_margin()
    outcome = await scene.refresher(scripted(rotated_meanwhile)).renew(scene.logged_in, None)

    assert outcome == Renewed(written[0], "adopted")
    assert vault(scene.state).status(PROFILE).state == "ok"


async def test_a_transient_failure_is_put_off_with_a_durable_failing_status(
    scene: Scene, scripted: Callable[[Answer], httpx.AsyncClient]
) -> None:
    def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "30"})

    scene.inside_the_margin()
    outcome = await scene.refresher(scripted(unavailable)).renew(scene.logged_in, None)

    assert isinstance(outcome, PutOff)
    assert outcome.retry_after == 30
    assert outcome.stored is not None
    assert outcome.stored.status.last_error == FailureClass.SERVER_ERROR.value
    after = vault(scene.state).load(PROFILE)
    assert (after.generation, after.material) == (
        scene.logged_in.generation,
        scene.logged_in.material,
    )
    assert after.status.state == "ok"
    assert after.status.failing
    assert after.status.since == scene.clock.now()


async def test_a_refresh_that_times_out_is_put_off(scene: Scene) -> None:
    scene.inside_the_margin()
    the_refresher = scene.refresher(timeout=0.3)
    scene.idp.token_delay(2_000)
    try:
        outcome = await the_refresher.renew(scene.logged_in, None)
    finally:
        scene.idp.token_delay(0)

    assert isinstance(outcome, PutOff)
    assert "timed out" in outcome.why
    assert vault(scene.state).status(PROFILE).last_error == FailureClass.TIMEOUT.value
    assert vault(scene.state).load(PROFILE).material == scene.logged_in.material


async def test_quota_is_raised_and_never_asks_for_a_login(
    scene: Scene, scripted: Callable[[Answer], httpx.AsyncClient]
) -> None:
    def usage_limit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": {"code": "usage_limit_reached"}})

    scene.inside_the_margin()
    with pytest.raises(Failed) as quota:
        await scene.refresher(scripted(usage_limit)).renew(scene.logged_in, None)

    assert quota.value.failure.kind is FailureClass.QUOTA
    assert vault(scene.state).status(PROFILE) == scene.logged_in.status


async def test_a_lock_held_elsewhere_is_put_off(scene: Scene) -> None:
    before = scene.idp.refreshes()
    scene.inside_the_margin()
    with vault(scene.state).lock(PROFILE):
        outcome = await scene.refresher(lock_wait=0.2).renew(scene.logged_in, None)

    assert isinstance(outcome, PutOff)
    assert outcome.stored is None
    assert scene.idp.refreshes() == before

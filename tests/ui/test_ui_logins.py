"""A device-code login started from the dashboard (RFC 8628) against the real authorization
server: the page gets the user code, the person approves it, and the gateway stores the
login through the vault as `models auth login --device-code` does, so the `needs_login`
profile is ok again. The poll's waits are on the test's clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from clawgate.clock import ManualClock
from clawgate.gateway.ui import Dashboard, DeviceLogins
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.inprocess import TOKEN, Local, local_gateway
from tests.oidc_server import OidcServer
from tests.ui.conftest import BASE, DEAD_FIX, PROFILE, csrf_of, dead_login, document, sign_in

pytestmark = pytest.mark.anyio


class Person:
    """The person at another device: the poll waits (on the test's clock) until they acted."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.acted = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.acted.wait()


@pytest.fixture
async def dead(
    tmp_path: Path, api: FakeModelAPI, idp: OidcServer, clock: ManualClock
) -> AsyncIterator[tuple[Local, Person]]:
    state = tmp_path / "state"
    await dead_login(idp, state, clock)
    person = Person(clock)
    async with local_gateway(state, api, document(api, idp)) as local:
        board = local.app.state.dashboard = Dashboard(clock, DeviceLogins(clock, person.sleep))
        try:
            yield local, person
        finally:
            await board.logins.aclose()


@contextlib.asynccontextmanager
async def signed_in(local: Local) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(local.app), base_url=BASE) as c:
        await sign_in(c)
        yield c


def row(page: str, profile: str) -> str:
    found = re.search(rf'<tr data-profile="{re.escape(profile)}".*?</tr>', page, re.DOTALL)
    assert found is not None, f"no row for {profile}"
    return found.group(0)


async def start(client: httpx.AsyncClient) -> tuple[str, dict[str, object]]:
    overview = (await client.get("/ui")).text
    started = await client.post(
        "/ui/logins",
        data={"csrf": csrf_of(overview), "provider": "myidp", "profile": PROFILE},
        headers={"origin": BASE},
    )
    assert started.status_code == 303
    where = started.headers["location"]
    status = (await client.get(f"{where}/status")).json()
    return where, status


async def test_a_needs_login_profile_is_logged_in_again_from_the_page(
    dead: tuple[Local, Person], idp: OidcServer
) -> None:
    local, person = dead
    async with signed_in(local) as client:
        before = row((await client.get("/ui")).text, PROFILE)
        assert 'data-state="needs_login"' in before
        assert DEAD_FIX in before
        where, status = await start(client)
        assert status["state"] == "waiting"
        code = str(status["userCode"])
        assert str(status["verificationUri"]).startswith(idp.issuer)
        assert int(str(status["secondsLeft"])) > 0
        page = (await client.get(where)).text
        assert code in page
        assert "device_code" not in json.dumps(status)

        # Another worker of the gateway answers the page's poll from what this one published.
        login_id = where.rsplit("/", 1)[1]
        other = DeviceLogins(person.clock)
        elsewhere = other.get(local.gateway, login_id)
        assert elsewhere is not None
        assert elsewhere.view(person.clock.now()) == status

        await asyncio.to_thread(idp.approve_device, code)
        person.acted.set()
        login = local.app.state.dashboard.logins.get(local.gateway, login_id)
        with anyio.fail_after(30):
            await login.finished.wait()
        elsewhere = other.get(local.gateway, login_id)
        assert elsewhere is not None
        assert (elsewhere.state, elsewhere.profile) == ("done", PROFILE)
        done = (await client.get(f"{where}/status")).json()
        assert (done["state"], done["profile"]) == ("done", PROFILE), done
        after = row((await client.get("/ui")).text, PROFILE)
        assert 'data-state="ok"' in after
        assert TOKEN not in (await client.get(where)).text
    # Stored as the CLI stores it: a turn on the profile's model goes through the broker.
    assert local.gateway.vault.load(PROFILE).status.state == "ok"


async def test_a_denied_login_says_so_and_changes_nothing(
    dead: tuple[Local, Person], idp: OidcServer
) -> None:
    local, person = dead
    async with signed_in(local) as client:
        where, status = await start(client)
        await asyncio.to_thread(idp.approve_device, str(status["userCode"]), deny=True)
        person.acted.set()
        login = local.app.state.dashboard.logins.get(local.gateway, where.rsplit("/", 1)[1])
        with anyio.fail_after(30):
            await login.finished.wait()
        failed = (await client.get(f"{where}/status")).json()
        assert failed["state"] == "failed"
        assert failed["message"]
        assert 'data-state="needs_login"' in row((await client.get("/ui")).text, PROFILE)


async def test_a_provider_without_a_device_login_is_refused(
    dead: tuple[Local, Person],
) -> None:
    local, _ = dead
    async with signed_in(local) as client:
        csrf = csrf_of((await client.get("/ui")).text)
        for provider in ["up", "nosuch"]:
            answer = await client.post(
                "/ui/logins", data={"csrf": csrf, "provider": provider}, headers={"origin": BASE}
            )
            assert answer.status_code == 400
            assert "no device-code login" in answer.text
        answer = await client.post(
            "/ui/logins", data={"provider": "myidp"}, headers={"origin": BASE}
        )
        assert answer.status_code == 403

"""One refresh across three gateway replicas (issue 25): real `clawgate gateway run` processes,
each on a state directory of its own, sharing one PostgreSQL database (`state.backend:
"postgres"`) and one vault key, hold a real OAuth login (a device login at the test
authorization server, tests/oidc_server.py) whose access token is about to expire. Eight
client processes of twenty concurrent callers each, spread over the three gateways' ports,
meet it at once: the authorization server sees exactly one refresh grant, and every caller
gets a 200 whose upstream call carried the new access token (docs/architecture.md, "State
backends"; docs/auth.md, "Where the vault keeps its bytes")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.clock import ManualClock
from clawgate.vault import OAuthMaterial
from tests.auth.helpers import PROFILE, device_login, vault
from tests.fakes.model_api import FakeModelAPI, Reply, Seen, error
from tests.gateway.running import RunningGateway, config
from tests.gateway.test_replicas import replicas
from tests.oidc_server import OidcServer, oidc_server
from tests.vault_backends import on_database

__all__ = ["on_database"]

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

PROCESSES = 8
CALLERS = 20
# The login's access token lasts the server's default hour; it is made on a clock this much
# short of that hour behind the real one, so that the gateways (on the real clock) find it
# still valid but inside their refresh margin (`auth.refreshMarginSeconds`, 300 s).
LEFT = 120.0
ROOT = Path(__file__).parents[2]

# One client process: waits for a line on stdin (so that all start together), then sends its
# callers' turns at once, round-robin over the gateways; prints one JSON line of answers.
CLIENT = """
import asyncio, json, sys
import httpx

async def main(gateways, first, callers):
    sys.stdin.readline()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None)) as c:
        async def call(n):
            url, token = gateways[(first + n) % len(gateways)]
            r = await c.post(
                url + "/v1/chat/completions",
                headers={"authorization": "Bearer " + token},
                json={"model": "myidp/m", "messages": [{"role": "user", "content": "hi"}]},
            )
            return {"port": url.rsplit(":", 1)[1], "status": r.status_code, "body": r.text[:300]}
        answers = await asyncio.gather(*(call(n) for n in range(callers)))
    print(json.dumps(answers), flush=True)

asyncio.run(main(json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
"""


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


def document(api: FakeModelAPI, idp: OidcServer) -> dict[str, Any]:
    """The gateway tests' config on the database, with the authorization server's provider
    ``myidp`` whose model calls go to the fake upstream (under ``/myidp/``)."""
    base = config(api.url)
    myidp = idp.provider_settings()
    myidp["baseUrl"] = f"{api.url}/myidp/v1"
    myidp["timeouts"] = {"connect": 5, "firstToken": 30, "idle": 30, "total": 60}
    base["models"]["providers"]["myidp"] = myidp
    return {**base, "state": {"backend": "postgres"}}


def checked_at(idp: OidcServer) -> Any:
    """The fake upstream's check of each call's bearer token at the server's userinfo
    endpoint: a token the authorization server does not honour gets a 401."""

    def authorize(seen: Seen) -> Reply | None:
        me = httpx.get(
            f"{idp.issuer}/me", headers={"authorization": seen.headers.get("authorization", "")}
        )
        if me.status_code == 200:
            return None
        return error(401, {"error": {"message": "invalid token", "code": "invalid_api_key"}})

    return authorize


def clients(gateways: list[RunningGateway]) -> list[subprocess.Popen[str]]:
    where = json.dumps([[g.url, g.token] for g in gateways])
    return [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, where, str(n), str(CALLERS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]


def release(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:  # all at once
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def collect(workers: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    answers = []
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, f"a client exited with {worker.returncode}"
        answers += json.loads(out)
    return answers


async def test_an_expiring_login_met_by_three_replicas_at_once_is_refreshed_once(
    tmp_path: Path, api: FakeModelAPI, idp: OidcServer, on_database: str
) -> None:
    login = tmp_path / "login"  # where `models auth login` ran: a machine of its own
    clock = ManualClock(start=time.time() - 3600 + LEFT)
    stored = await device_login(idp, login, clock)
    assert isinstance(stored.material, OAuthMaterial)
    old = stored.material.access.reveal()
    assert stored.material.expires_at is not None
    assert 0 < stored.material.expires_at - time.time() < 300  # valid, inside the margin
    key = (login / "vault" / "key").read_text().strip()

    api.authorize = checked_at(idp)
    with replicas(tmp_path, api, on_database, document=document(api, idp), key=key) as gateways:
        assert all(not (g.state / "vault" / "profiles").exists() for g in gateways)
        workers = clients(gateways)  # started first: no interpreter start-up in the storm
        try:
            before = idp.refreshes()
            release(workers)
            answers = collect(workers)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()
        after = idp.refreshes()
        assert all(g.process.poll() is None for g in gateways)

    assert len(answers) == PROCESSES * CALLERS
    assert {a["port"] for a in answers} == {g.url.rsplit(":", 1)[1] for g in gateways}
    assert [a for a in answers if a["status"] != 200] == []
    assert after["success"] - before["success"] == 1  # one grant used, once
    assert after["error"] == before["error"]  # no replay of a rotated refresh token

    latest = vault(login).load(PROFILE)
    assert latest.generation == stored.generation + 1
    assert isinstance(latest.material, OAuthMaterial)
    new = latest.material.access.reveal()
    assert new != old
    calls = api.paths("/myidp/")
    assert len(calls) == PROCESSES * CALLERS  # one upstream call per caller, none retried
    assert {c.headers["authorization"] for c in calls} == {f"Bearer {new}"}

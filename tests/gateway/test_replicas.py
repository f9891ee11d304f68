"""Three gateway replicas act as one: real `clawgate gateway run` processes, each with a state
directory of its own, sharing one PostgreSQL database (`state.backend: "postgres"`) and one
vault key, against the fake upstreams. A cooldown one replica recorded is honoured by the
next turn of the others (and a reset through one clears it for all); failures met by several
replicas open one circuit that holds for all; a profile added through one replica's CLI is
used by the others with no restart; and stopping the database mid-traffic gives each a clear
503 until it is back, with every answered turn recorded once (docs/architecture.md, "State
backends")."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.fakes.model_api import OPENAI, FakeModelAPI
from tests.gateway.running import RunningGateway, config, start_gateway
from tests.postgres import PostgresServer, running_postgres

pytestmark = pytest.mark.slow

REPLICAS = 3


@contextlib.contextmanager
def replicas(
    root: Path,
    api: FakeModelAPI,
    url: str,
    *,
    document: dict[str, Any] | None = None,
    key: str | None = None,
) -> Iterator[list[RunningGateway]]:
    """``REPLICAS`` gateways on state directories of their own, one database, one vault key
    (a new one unless given); ``document`` is their config (the tests' default otherwise),
    always with the PostgreSQL backend."""
    key = key or base64.b64encode(os.urandom(32)).decode()
    environ = {"CLAWGATE_DATABASE_URL": url, "CLAWGATE_VAULT_KEY": key}
    document = {**(document or config(api.url)), "state": {"backend": "postgres"}}
    with contextlib.ExitStack() as stack:
        running = []
        for n in range(REPLICAS):
            gateway = start_gateway(root / f"replica-{n}", api, environ=environ, document=document)
            stack.callback(gateway.stop)
            running.append(gateway)
        yield running


@pytest.fixture
def three(tmp_path: Path, api: FakeModelAPI, database_url: str) -> Iterator[list[RunningGateway]]:
    with replicas(tmp_path, api, database_url) as running:
        yield running


def answered_by(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["x-clawgate-model"]


def test_a_cooldown_recorded_by_one_replica_is_honoured_by_the_others(
    three: list[RunningGateway], api: FakeModelAPI
) -> None:
    a, b, c = three
    api.script(OPENAI["rate_limit"], path="/up/")  # 429 without Retry-After: a 30 s cooldown
    assert answered_by(a.chat("up/m", "alt/m")) == "alt/m"
    assert len(api.paths("/up/")) == 1  # met the 429, then fell back

    # The next turn of each other replica skips the cooled-down upstream: no request to it.
    assert answered_by(b.chat("up/m", "alt/m")) == "alt/m"
    assert answered_by(c.chat("up/m", "alt/m")) == "alt/m"
    assert len(api.paths("/up/")) == 1
    assert len(api.paths("/alt/")) == 3

    # Cleared through one replica (the control API), the others try it again at once.
    cleared = b.cli("models", "health", "reset", "--profile", "up:default")
    assert cleared.exit_code == 0, cleared.output
    assert "cleared cooldown of up:default up/m" in cleared.output
    assert answered_by(c.chat("up/m", "alt/m")) == "up/m"
    assert len(api.paths("/up/")) == 2


def open_circuits(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT key FROM health WHERE kind = 'circuit' AND failures >= 3 AND until > %s",
            (time.time(),),
        )
        return [row[0] for row in rows]


def test_a_circuit_opened_by_failures_on_several_replicas_holds_for_all(
    three: list[RunningGateway], api: FakeModelAPI, database_url: str
) -> None:
    api.script(*[OPENAI["500"]] * 20, path="/up/")
    turns = 0
    while not open_circuits(database_url):  # failures counted together, whoever met them
        assert turns < 2 * REPLICAS, "the circuit never opened"
        assert answered_by(three[turns % REPLICAS].chat("up/m", "alt/m")) == "alt/m"
        turns += 1
    assert open_circuits(database_url) == ["circuit|up:default|up/m"]
    assert turns > 1  # one replica alone did not open it: the others' failures counted
    sent = len(api.paths("/up/"))
    for gateway in three:
        assert answered_by(gateway.chat("up/m", "alt/m")) == "alt/m"
    assert len(api.paths("/up/")) == sent  # open for every replica: none tried it


def test_a_profile_added_through_one_replica_is_used_by_the_next_turn_of_another(
    three: list[RunningGateway], api: FakeModelAPI
) -> None:
    a, b, _ = three
    before = b.chat("keyed/m")
    assert before.status_code != 200  # no credential for it anywhere yet
    assert api.paths("/keyed/") == []

    key = "sk-replica-" + os.urandom(8).hex()
    added = a.cli(
        "models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin=key + "\n"
    )
    assert added.exit_code == 0, added.output
    assert key not in added.output

    assert answered_by(b.chat("keyed/m")) == "keyed/m"  # no restart, no reload
    [seen] = api.paths("/keyed/")
    assert seen.headers["authorization"] == f"Bearer {key}"
    assert not (b.state / "vault" / "profiles").exists()  # the envelope is in the database


@dataclass
class Traffic:
    """Turns sent to each replica in a loop until told to stop; every answer kept."""

    gateways: list[RunningGateway]
    answers: list[list[httpx.Response]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.answers = [[] for _ in self.gateways]
        self.threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True)
            for n in range(len(self.gateways))
        ]

    def _send(self, n: int) -> None:
        while not self.stopping.is_set():
            answer = self.gateways[n].chat("up/m")
            with self.changed:
                self.answers[n].append(answer)
                self.changed.notify_all()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def mark(self) -> list[int]:
        with self.changed:
            return [len(a) for a in self.answers]

    def each_got(self, status: int, since: list[int]) -> None:
        """Wait (for answers, not for time) until every replica answered ``status`` after
        ``since``."""

        def done() -> bool:
            return all(
                any(r.status_code == status for r in a[start:])
                for a, start in zip(self.answers, since, strict=True)
            )

        with self.changed:
            assert self.changed.wait_for(done, timeout=120), [
                [r.status_code for r in a] for a in self.answers
            ]

    def stop(self) -> list[httpx.Response]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads)
        return [r for a in self.answers for r in a]


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    with running_postgres() as own:  # stopped mid-test: not the session's shared server
        yield own


def test_the_database_stopped_mid_traffic_gives_503s_and_every_replica_recovers(
    tmp_path: Path, api: FakeModelAPI, server: PostgresServer
) -> None:
    url = server.database()
    with replicas(tmp_path, api, url) as running:
        traffic = Traffic(running)
        traffic.start()
        try:
            traffic.each_got(200, [0] * REPLICAS)
            server.stop()
            traffic.each_got(503, traffic.mark())
            server.start()
            traffic.each_got(200, traffic.mark())
        finally:
            answers = traffic.stop()
            if server.pid is None:  # a wait above failed while it was away
                server.start()
        assert all(r.process.poll() is None for r in running)  # none went down

    assert {r.status_code for r in answers} == {200, 503}
    refused = [r for r in answers if r.status_code == 503]
    for answer in refused:
        assert answer.headers["retry-after"] == "5"
        error = answer.json()["error"]
        assert error["code"] == "state_store_unavailable"
        assert "state store" in error["message"]
    answered = [r.headers["x-clawgate-turn"] for r in answers if r.status_code == 200]
    # The replicas have stopped: each committed the records it wrote behind its answers.
    with psycopg.connect(url) as conn:
        turns = [row[0] for row in conn.execute("SELECT turn_id FROM turns")]
        usage = [row[0] for row in conn.execute("SELECT turn_id FROM usage")]
    # Every answered turn recorded once, with its usage once; a refused one left nothing.
    assert sorted(turns) == sorted(answered)
    assert sorted(usage) == sorted(answered)

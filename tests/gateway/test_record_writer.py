"""The record writer in a real gateway process: turns are answered while their records wait
behind (here: a test holds ``state.db``'s write lock), and a clean stop (SIGTERM) commits every
one of them before the process exits."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clawgate.state import State
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway


def counts(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        turns = conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
        usage = conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
        return int(turns), int(usage)
    finally:
        conn.close()


def stopped_serving(gateway: RunningGateway) -> None:
    """Until the stopping gateway has closed its port (or exited): past that point only the
    commit of what is queued is left to do before it exits."""
    host, port = gateway.url.removeprefix("http://").rsplit(":", 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except ConnectionRefusedError:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            gateway.process.wait(timeout=0.02)
            return
    raise AssertionError("the gateway kept serving after SIGTERM")


def test_answers_do_not_wait_for_their_records_and_a_stop_commits_them(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    gateway = start_gateway(tmp_path / "state", api)
    db = gateway.state / "state.db"
    try:
        assert gateway.chat("up/m").status_code == 200
        # Reading the decisions through the gateway waits for its writer: committed now.
        assert len(gateway.decisions(100)) == 1
        # Another process holds state.db's one write lock (as a long `clawgate state
        # migrate` or a backup might): the records cannot be written, the answers go on.
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: gateway.chat("up/m").status_code, range(24)))
            assert answers == [200] * 24
            assert counts(db) == (1, 1)  # the 24 are queued behind the lock
            gateway.process.terminate()  # a clean stop, while they still wait
            stopped_serving(gateway)
            # It no longer serves, and it does not exit: it is committing what is queued.
            with pytest.raises(subprocess.TimeoutExpired):
                gateway.process.wait(timeout=0.5)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert gateway.stop() == 0
    finally:
        gateway.stop()
    assert counts(db) == (25, 25)
    state = State.open(db)
    try:
        assert all(t.outcome == "succeeded" and t.attempts for t in state.decisions.last(100))
    finally:
        state.close()

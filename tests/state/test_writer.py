"""The record writer (`state._writer`): decisions and usage committed behind the answer by one
thread, in batches. Its promises, each tested here on both backends where the backend matters:
commits in submission order, whole batches; a clean close commits everything; a crash loses
only what was queued and not yet committed (a real SIGKILL of a real process); a bad record
loses only itself; while the store is away the records wait and are written when it is back.

A gate write (it blocks the thread until released) makes batch boundaries deterministic:
everything submitted while the thread is held in one batch forms the next batches."""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawgate.state import (
    AttemptRecord,
    Db,
    SqliteDb,
    State,
    StoreUnavailable,
    TurnRecord,
    UsageRecord,
    open_db,
)
from clawgate.state import _writer as writer_module
from clawgate.state._writer import BATCH, RecordWriter
from tests.state.backends import Backend, backend, state_backend

__all__ = ["backend", "state_backend"]


def turn(n: int) -> TurnRecord:
    return TurnRecord(
        turn_id=f"t{n:05d}",
        session_key=None,
        requested="up/m",
        started_at=1000.0 + n,
        ended_at=1000.5 + n,
        outcome="succeeded",
        model="up/m",
        profile="up:default",
        attempts=(AttemptRecord("up/m", "up:default", "succeeded", end_ms=1.0),),
    )


def usage(n: int) -> UsageRecord:
    return UsageRecord(f"t{n:05d}", "up", "m", "up:default", "api", 10, n, at=1000.5 + n)


class Gate:
    """A write that holds the writer's thread until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, db: Db) -> None:
        self.entered.set()
        assert self.release.wait(30), "the test never released the gate"

    def hold(self, writer: RecordWriter) -> None:
        writer.submit(self)
        assert self.entered.wait(30)


class Counting:
    """A Db that counts the transactions through it (the writer's own)."""

    def __init__(self, db: Db, *, owned: bool) -> None:
        self.db = db
        self.owned = owned  # a connection of the writer's own, which it closes
        self.transactions = 0
        self.away = False

    def close(self) -> None:
        if self.owned:
            self.db.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)

    @contextlib.contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        if self.away:
            raise StoreUnavailable("the state store is unavailable (test)", fix="wait")
        self.transactions += 1
        with self.db.transaction(lock):
            yield


def behind(state: State, backend: Backend) -> Counting:
    """Start ``state``'s writer on a counting connection of its own."""
    if backend.name == "sqlite":
        counting = Counting(SqliteDb(open_db(backend.path), str(backend.path)), owned=True)
    else:
        counting = Counting(state.conn, owned=False)  # the pool serves every thread
    state.records.start(counting)  # type: ignore[arg-type]
    return counting


def stored_turns(backend: Backend) -> list[str]:
    """The turn ids committed, as another process sees them."""
    other = backend.open()
    try:
        return sorted(t.turn_id for t in other.decisions.last(10_000))
    finally:
        other.close()


def committed(state: State) -> int:
    """Turn rows committed, read past the writer (SQLite's WAL lets a reader in while the
    writer's transaction is open; another opener would wait for its lock)."""
    return int(state.conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])


def test_writes_commit_in_submission_order_in_whole_batches(
    state_backend: State, backend: Backend
) -> None:
    counting = behind(state_backend, backend)
    order: list[int] = []
    gate = Gate()
    gate.hold(state_backend.records)
    n = 2 * BATCH + 40
    for i in range(n):
        state_backend.decisions.record(turn(i))
        state_backend.usage.add(usage(i))
        state_backend.records.submit(lambda db, i=i: order.append(i))
    assert committed(state_backend) == 0  # queued behind the held thread, not written yet
    gate.release.set()
    state_backend.settle()
    assert order == list(range(n))
    # The gate's batch, then everything queued behind it in batches of BATCH writes (three
    # writes a turn): nothing committed one by one.
    assert counting.transactions == 1 + -(-3 * n // BATCH)
    assert stored_turns(backend) == [f"t{i:05d}" for i in range(n)]
    assert [u.output_tokens for u in state_backend.usage.for_turn("t00007")] == [7]
    assert state_backend.decisions.get("t00007") == turn(7)


def test_a_clean_close_commits_everything_queued(state_backend: State, backend: Backend) -> None:
    behind(state_backend, backend)
    gate = Gate()
    gate.hold(state_backend.records)
    for i in range(500):
        state_backend.decisions.record(turn(i))
    assert state_backend.records.pending == 501
    closing = threading.Thread(target=state_backend.close)
    closing.start()
    assert committed(state_backend) == 0
    gate.release.set()
    closing.join(30)
    assert not closing.is_alive()
    assert stored_turns(backend) == [f"t{i:05d}" for i in range(500)]


def test_a_reader_in_the_process_sees_every_record_written_before_it(
    state_backend: State, backend: Backend
) -> None:
    behind(state_backend, backend)
    for i in range(50):
        state_backend.decisions.record(turn(i))
        state_backend.usage.add(usage(i))
    # No settle here: the reads settle by themselves.
    assert len(state_backend.decisions.last(1000)) == 50
    assert state_backend.usage.key_tokens_since("nobody", 0) == 0
    assert state_backend.usage.last_used() == {"up:default": 1000.5 + 49}


CRASH = """
import os, signal, sys, threading
from clawgate.state import State, AttemptRecord, TurnRecord
from clawgate.state._writer import BATCH

state = State.open(sys.argv[1])
state.write_behind()
entered, release = threading.Event(), threading.Event()
state.records.submit(lambda db: (entered.set(), release.wait()))
entered.wait()
for i in range(int(sys.argv[2])):
    if i == int(sys.argv[3]):
        # The process dies in the middle of this write's batch, its transaction open.
        state.records.submit(lambda db: os.kill(os.getpid(), signal.SIGKILL))
    state.decisions.record(TurnRecord(f"t{i:05d}", None, "up/m", i, i, "succeeded",
        attempts=(AttemptRecord("up/m", "up:default", "succeeded"),)))
release.set()
state.records.settle(30)
print("not killed")
"""


def test_a_crash_loses_at_most_what_was_not_yet_committed(tmp_path: Path) -> None:
    """A real SIGKILL of a process writing behind: what it had committed is there, whole
    batches in order; what was queued is lost; nothing is half-written."""
    db = tmp_path / "state" / "state.db"
    killed_at = 2 * BATCH + 17  # in the third batch behind the gate
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(db), str(4 * BATCH), str(killed_at)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert "not killed" not in process.stdout
    state = State.open(db)
    try:
        kept = state.decisions.last(10_000)
        # Batches after the gate: [0, BATCH), [BATCH, 2 BATCH), then the one the kill is in.
        assert [t.turn_id for t in kept] == [f"t{i:05d}" for i in range(2 * BATCH)]
        assert all(len(t.attempts) == 1 for t in kept)  # no turn without its attempts
        lost = 4 * BATCH - len(kept)
        assert lost == 2 * BATCH  # the dying batch and what queued behind it
    finally:
        state.close()


def test_a_bad_record_loses_only_itself(
    state_backend: State, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    behind(state_backend, backend)
    state_backend.decisions.record(turn(1))
    state_backend.settle()
    gate = Gate()
    gate.hold(state_backend.records)
    state_backend.decisions.record(turn(0))
    state_backend.decisions.record(turn(1))  # the same turn id again: refused by the store
    state_backend.decisions.record(turn(2))
    with caplog.at_level(logging.ERROR, "clawgate.state"):
        gate.release.set()
        state_backend.settle()
    assert stored_turns(backend) == ["t00000", "t00001", "t00002"]
    assert "a state record was not written: " in caplog.text
    assert "t00001" not in caplog.text  # a class, not the record


def test_records_wait_while_the_store_is_away_and_are_written_when_it_is_back(
    state_backend: State,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(writer_module, "LIMIT", 100)
    counting = behind(state_backend, backend)
    gate = Gate()
    gate.hold(state_backend.records)  # so that all 105 queue before the first try
    counting.away = True
    with caplog.at_level(logging.WARNING, "clawgate.state"):
        for i in range(105):
            state_backend.decisions.record(turn(i))
        gate.release.set()
        assert not state_backend.records.settle(timeout=0.05)  # still waiting, not lost
        assert state_backend.records.pending == 100
        counting.away = False
        assert state_backend.records.settle(timeout=30)
    # The oldest five were dropped past the limit; the rest written, in order.
    assert stored_turns(backend) == [f"t{i:05d}" for i in range(5, 105)]
    assert caplog.text.count("dropping the oldest") == 1
    assert "5 records were dropped" in caplog.text


def test_a_close_while_the_store_is_away_gives_up_and_says_how_many(
    state_backend: State,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(writer_module, "STOP_SECONDS", 0.05)
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    counting = behind(state_backend, backend)
    counting.away = True
    for i in range(3):
        state_backend.decisions.record(turn(i))
    with caplog.at_level(logging.ERROR, "clawgate.state"):
        state_backend.records.close()  # returns: it does not wait for the database
    assert "3 records were not written" in caplog.text
    counting.away = False
    assert stored_turns(backend) == []


def test_before_start_a_write_is_committed_at_once(tmp_path: Path) -> None:
    state = State.open(tmp_path / "state.db")
    try:
        state.decisions.record(turn(1))
        assert not state.records.running
        other = State.open(tmp_path / "state.db")
        assert other.decisions.get("t00001") == turn(1)
        other.close()
    finally:
        state.close()


def test_an_in_memory_state_cannot_write_behind() -> None:
    state = State.open(":memory:")
    assert state.write_behind() is False
    state.decisions.record(turn(1))
    assert state.decisions.get("t00001") == turn(1)
    state.close()

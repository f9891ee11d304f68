"""The record writer (`state._writer`): decisions and usage committed behind the answer, in
batches, by the event loop (SQLite in the gateway), or by a thread (PostgreSQL; SQLite outside
a loop). Its promises, each tested in every way it runs: commits in submission order, whole
batches; a clean close commits everything; a crash loses only what was queued and not yet
committed (a real SIGKILL of a real process); a bad record loses only itself; while the store
is away the records wait and are written when it is back.

`Behind.hold` makes batch boundaries deterministic: a thread is held by a gate write (it
blocks until released), a loop simply is not run, so everything submitted meanwhile forms the
next batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
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
    open_postgres,
)
from clawgate.state import _writer as writer_module
from clawgate.state._writer import BATCH


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


class Counting:
    """A Db that counts the transactions through it (the writer's), and can be away."""

    def __init__(self, db: Db, *, owned: bool) -> None:
        self.db = db
        self.owned = owned  # a connection of the writer's own, which it closes
        self.transactions = 0
        self.away = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)

    def close(self) -> None:
        if self.owned:
            self.db.close()

    @contextlib.contextmanager
    def transaction(self, lock: str | None = None, *, wait: float | None = None) -> Iterator[None]:
        if self.away:
            raise StoreUnavailable("the state store is unavailable (test)", fix="wait")
        self.transactions += 1
        with self.db.transaction(lock, wait=wait):
            yield


@dataclass
class Behind:
    """A state writing behind, one of the ways the writer runs."""

    name: str  # sqlite-loop | sqlite-thread | postgres-thread
    state: State
    counting: Counting
    loop: asyncio.AbstractEventLoop | None
    reopen: object  # () -> State: the same records, as another process opens them

    @property
    def gate_batches(self) -> int:
        """Transactions `hold` adds: the gate's own batch, for a thread."""
        return 0 if self.loop else 1

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Nothing is committed inside; leaving lets the writer go on (a loop runs only
        when asked to: `settle`, `close`, or `run`)."""
        if self.loop is not None:
            yield
            return
        gate = Gate()
        self.state.records.submit(gate)
        assert gate.entered.wait(30)
        try:
            yield
        finally:
            gate.release.set()

    def run(self) -> None:
        """Let the loop run what it has scheduled (its commits), a few passes."""
        assert self.loop is not None
        for _ in range(3):
            self.loop.run_until_complete(asyncio.sleep(0))

    def stored(self) -> list[str]:
        """The turn ids committed, as another process sees them."""
        other = self.reopen()  # type: ignore[operator]
        try:
            return sorted(t.turn_id for t in other.decisions.last(10_000))
        finally:
            other.close()


MODES = ("sqlite-loop", "sqlite-thread", "postgres-thread")


@pytest.fixture(params=MODES)
def behind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Behind]:
    name = request.param
    path = tmp_path / "state" / "state.db"
    loop = asyncio.new_event_loop() if name.endswith("loop") else None
    if name.startswith("postgres"):
        url = request.getfixturevalue("database_url")
        state = State(open_postgres(url))
        counting = Counting(state.conn, owned=False)  # the pool serves every thread
        reopen = lambda: State(open_postgres(url))  # noqa: E731
    else:
        state = State.open(path)
        own = state.conn if loop else SqliteDb(open_db(path), str(path))
        counting = Counting(own, owned=loop is None)
        reopen = lambda: State.open(path)  # noqa: E731
    state.records.start(counting, loop)  # type: ignore[arg-type]
    yield Behind(name, state, counting, loop, reopen)
    state.close()
    if loop is not None:
        loop.close()


def committed(state: State) -> int:
    """Turn rows committed, read past the writer (SQLite's WAL lets a reader in while the
    writer's transaction is open; another opener would wait for its lock)."""
    return int(state.conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])


def test_writes_commit_in_submission_order_in_whole_batches(behind: Behind) -> None:
    state = behind.state
    order: list[int] = []
    n = 2 * BATCH + 40
    with behind.hold():
        for i in range(n):
            state.decisions.record(turn(i))
            state.usage.add(usage(i))
            state.records.submit(lambda db, i=i: order.append(i))
        assert committed(state) == 0  # queued, not written yet
    state.settle()
    assert order == list(range(n))
    # Everything queued in batches of BATCH writes (three a turn): none one by one.
    assert behind.counting.transactions == behind.gate_batches + -(-3 * n // BATCH)
    assert behind.stored() == [f"t{i:05d}" for i in range(n)]
    assert [u.output_tokens for u in state.usage.for_turn("t00007")] == [7]
    assert state.decisions.get("t00007") == turn(7)


def test_a_clean_close_commits_everything_queued(behind: Behind) -> None:
    state = behind.state
    with behind.hold():
        for i in range(500):
            state.decisions.record(turn(i))
        assert committed(state) == 0
        if behind.loop is not None:
            state.close()  # in the loop's thread, the loop not running: it commits
        else:
            closing = threading.Thread(target=state.close)
            closing.start()  # waits for the held thread
            assert committed(state) == 0
    if behind.loop is None:
        closing.join(30)
        assert not closing.is_alive()
    assert behind.stored() == [f"t{i:05d}" for i in range(500)]


def test_a_reader_in_the_process_sees_every_record_written_before_it(behind: Behind) -> None:
    state = behind.state
    for i in range(50):
        state.decisions.record(turn(i))
        state.usage.add(usage(i))
    # No settle here: the reads settle by themselves.
    assert len(state.decisions.last(1000)) == 50
    assert state.usage.key_tokens_since("nobody", 0) == 0
    assert state.usage.last_used() == {"up:default": 1000.5 + 49}


def test_the_loop_commits_by_itself_after_the_linger_and_at_once_when_a_batch_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.new_event_loop()
    state = State.open(tmp_path / "state.db")
    try:
        state.records.start(state.conn, loop)
        monkeypatch.setattr(writer_module, "LINGER_SECONDS", 0.0)
        state.decisions.record(turn(0))
        assert committed(state) == 0
        loop.run_until_complete(asyncio.sleep(0))
        assert committed(state) == 1
        monkeypatch.setattr(writer_module, "LINGER_SECONDS", 3600.0)
        state.decisions.record(turn(1))
        loop.run_until_complete(asyncio.sleep(0))
        assert committed(state) == 1  # gathering, for an hour here
        for i in range(2, BATCH + 1):
            state.decisions.record(turn(i))  # the batch is full: no more waiting
        loop.run_until_complete(asyncio.sleep(0))
        assert committed(state) == BATCH + 1
    finally:
        state.close()
        loop.close()


CRASH = """
import asyncio, os, signal, sys
from clawgate.state import State, AttemptRecord, TurnRecord

async def main() -> None:
    state = State.open(sys.argv[1])
    state.write_behind()  # in a running loop: the loop commits
    for i in range(int(sys.argv[2])):
        if i == int(sys.argv[3]):
            # The process dies in the middle of this write's batch, its transaction open.
            state.records.submit(lambda db: os.kill(os.getpid(), signal.SIGKILL))
        state.decisions.record(TurnRecord(f"t{i:05d}", None, "up/m", i, i, "succeeded",
            attempts=(AttemptRecord("up/m", "up:default", "succeeded"),)))
    while state.records.pending:
        await asyncio.sleep(0)
    print("not killed")

asyncio.run(main())
"""


def test_a_crash_loses_at_most_what_was_not_yet_committed(tmp_path: Path) -> None:
    """A real SIGKILL of a gateway-like process (records written behind by its loop): what
    it had committed is there, whole batches in order; what was queued is lost; nothing is
    half-written."""
    db = tmp_path / "state" / "state.db"
    killed_at = 2 * BATCH + 17  # in the third batch
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
        # The first two batches: [0, BATCH), [BATCH, 2 BATCH); then the one the kill is in.
        assert [t.turn_id for t in kept] == [f"t{i:05d}" for i in range(2 * BATCH)]
        assert all(len(t.attempts) == 1 for t in kept)  # no turn without its attempts
    finally:
        state.close()


def test_a_bad_record_loses_only_itself(behind: Behind, caplog: pytest.LogCaptureFixture) -> None:
    state = behind.state
    state.decisions.record(turn(1))
    state.settle()
    with behind.hold():
        state.decisions.record(turn(0))
        state.decisions.record(turn(1))  # the same turn id again: refused by the store
        state.decisions.record(turn(2))
        caplog.set_level(logging.ERROR, "clawgate.state")
    state.settle()
    assert behind.stored() == ["t00000", "t00001", "t00002"]
    assert "a state record was not written: " in caplog.text
    assert "t00001" not in caplog.text  # a class, not the record


def test_records_wait_while_the_store_is_away_and_are_written_when_it_is_back(
    behind: Behind, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(writer_module, "LIMIT", 100)
    state = behind.state
    caplog.set_level(logging.WARNING, "clawgate.state")
    with behind.hold():  # so that all 105 queue before the first try
        behind.counting.away = True
        for i in range(105):
            state.decisions.record(turn(i))
    assert not state.records.settle(timeout=0.05)  # still waiting, not lost
    assert state.records.pending == 100
    behind.counting.away = False
    assert state.records.settle(timeout=30)
    # The oldest five were dropped past the limit; the rest written, in order.
    assert behind.stored() == [f"t{i:05d}" for i in range(5, 105)]
    assert caplog.text.count("dropping the oldest") == 1
    assert "5 records were dropped" in caplog.text


def test_a_close_while_the_store_is_away_gives_up_and_says_how_many(
    behind: Behind, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(writer_module, "STOP_SECONDS", 0.05)
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    behind.counting.away = True
    for i in range(3):
        behind.state.decisions.record(turn(i))
    with caplog.at_level(logging.ERROR, "clawgate.state"):
        behind.state.records.close()  # returns: it does not wait for the database
    assert "3 records were not written" in caplog.text
    behind.counting.away = False
    assert behind.stored() == []


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

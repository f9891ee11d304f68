"""The turn records (decisions and usage) written behind the answer, in batches: a group commit
(docs/architecture.md, "The record writer").

Until `RecordWriter.start` a write runs at once in the caller's thread, in its own
transaction: what a CLI command and an in-memory database use. Started (the gateway does), a
write is queued and the caller goes on; `LINGER_SECONDS` after the first write, everything
queued, up to `BATCH`, is committed in one transaction, in the order it was queued. Who
commits depends on the backend:

- SQLite (`start` with the event loop): the loop itself, in a callback after the answers went
  out, on the one ``state.db`` connection. A commit there is short and all CPU; a thread
  beside the loop measured slower (every statement gives the GIL up around ``sqlite3_step``
  and waits to take it back from the loop: bench/overhead.py, 9 % fewer requests a second).
- PostgreSQL (`start` without a loop): one thread, on a pool connection: a batch is network
  round trips, which must not hold the loop, least of all while the database is away.

What this promises:

- order: writes commit in the order they were submitted, and a batch commits whole or not
  at all, so the committed records are always a prefix of the submitted ones;
- a clean stop (`close`) commits everything submitted before it (trying for `STOP_SECONDS`
  when the store is away);
- a crash (SIGKILL, power) loses at most what was queued and not yet committed: the batch
  being gathered or written and what queued behind it, normally the turns of the last
  `LINGER_SECONDS` (10 ms) or so, and never more than `LIMIT` writes;
- a reader in this process that must see its own writes calls `settle` first;
- the store away (PostgreSQL stopped; ``state.db`` locked past its busy timeout, or its disk
  full): the writes wait in the queue and are retried every `RETRY_SECONDS` until it is
  back; past `LIMIT` queued the oldest are dropped, counted and logged once per outage.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from clawgate.postgres import StoreUnavailable
from clawgate.state._seam import Db

if TYPE_CHECKING:  # asyncio is for the gateway; `models status` does not load it
    import asyncio

__all__ = ["BATCH", "LIMIT", "RecordWriter", "Write"]

log = logging.getLogger("clawgate.state")

Write = Callable[[Db], None]  # statements for one record, run inside a transaction

BATCH = 256  # writes per transaction
LIMIT = 50_000  # writes held while the store is away, before the oldest are dropped
LINGER_SECONDS = 0.01  # a batch gathers for this long after its first write
RETRY_SECONDS = 1.0
# How long the loop's commit waits for another connection's lock on state.db (another
# worker's commit takes well under a millisecond); past it the batch is tried again later,
# rather than hold every request in the process for the busy timeout.
LOOP_WAIT_SECONDS = 0.1
STOP_SECONDS = 10.0  # how long a stop keeps trying an away store
SETTLE_SECONDS = 5.0  # how long a reader waits for the queue before reading what is there


class RecordWriter:
    def __init__(self, db: Db) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._queue: collections.deque[Write] = collections.deque()
        self._submitted = 0  # writes ever queued
        self._finished = 0  # of those, committed or given up
        self._dropped = 0
        self._db: Db | None = None  # the one the writes go through, once started
        self._thread: threading.Thread | None = None  # PostgreSQL's writer
        self._loop: asyncio.AbstractEventLoop | None = None  # SQLite's
        self._loop_thread = 0
        self._timer: asyncio.Handle | None = None  # the loop's next commit
        self._stopping = False
        self._stop_by: float | None = None  # when a stop gives up on an away store
        self._urgent = 0  # writes up to this count are awaited by a reader: commit now

    @property
    def running(self) -> bool:
        return self._db is not None

    def start(self, db: Db, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Write behind from now on, through ``db``: committed by ``loop`` (which must run
        in this thread; ``db`` then is the connection the loop uses), else by a thread of
        its own (``db`` must serve it)."""
        if self._db is not None:
            raise RuntimeError("the record writer is already running")
        self._db = db
        self._stopping = False
        self._stop_by = None
        if loop is not None:
            self._loop = loop
            self._loop_thread = threading.get_ident()
            return
        self._thread = threading.Thread(target=self._run, name="clawgate-records", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> None:
        if self._db is None:
            with self.db.transaction():
                write(self.db)
            return
        with self._cond:
            if len(self._queue) >= LIMIT:
                self._queue.popleft()
                self._finished += 1
                self._dropped += 1
                if self._dropped == 1:
                    log.error(
                        "the state store has been away for %d queued records; dropping the "
                        "oldest from now on",
                        LIMIT,
                    )
            self._queue.append(write)
            self._submitted += 1
            if len(self._queue) in (1, BATCH):  # what the committer waits for
                if self._loop is not None:
                    self._schedule(0.0 if len(self._queue) >= BATCH else LINGER_SECONDS)
                else:
                    self._cond.notify_all()

    def settle(self, timeout: float = SETTLE_SECONDS) -> bool:
        """Wait until every write submitted so far is committed (or given up); False when
        ``timeout`` ran out first (the store is away): the reader reads what is there."""
        if self._db is None:
            return True
        if self._loop is not None and threading.get_ident() == self._loop_thread:
            return self._drain(until=time.monotonic() + timeout)
        with self._cond:
            target = self._submitted
            if self._finished >= target:
                return True
            self._urgent = max(self._urgent, target)  # no lingering for these
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._commit_now)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._finished

    def close(self) -> None:
        """Commit what is queued, then stop (closing the thread's connection when it is one
        of its own)."""
        if self._db is None:
            return
        with self._cond:
            self._stopping = True
            self._stop_by = time.monotonic() + STOP_SECONDS
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            if not self._drain(until=self._stop_by, retry=RETRY_SECONDS):
                with self._cond:
                    self._give_up()
            if self._timer is not None:  # the retry a drain that gave up scheduled
                self._timer.cancel()
                self._timer = None
            self._loop = None
        if self._db is not self.db:
            self._db.close()
        self._db = None

    # The loop (SQLite) --------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        """The loop's next commit, ``delay`` from now (or sooner if one is due sooner)."""
        assert self._loop is not None
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._schedule, delay)
            return
        if self._timer is not None:
            if delay > 0 or not hasattr(self._timer, "when"):  # a TimerHandle has one
                return  # one is due already; a full batch moves it forward below
            self._timer.cancel()
        if delay > 0:
            self._timer = self._loop.call_later(delay, self._commit_now)
        else:
            self._timer = self._loop.call_soon(self._commit_now)

    def _commit_now(self) -> None:
        self._timer = None
        with self._cond:
            batch = self._take()
        if not batch:
            return
        done = self._commit(batch, wait=LOOP_WAIT_SECONDS)
        with self._cond:
            away = self._done(batch, done)
            more = len(self._queue)
        if away:
            self._schedule(RETRY_SECONDS)
        elif more:
            self._schedule(0.0 if more >= BATCH else LINGER_SECONDS)

    def _drain(self, until: float, retry: float | None = None) -> bool:
        """Commit everything queued now, in this (the loop's) thread; False when the store
        stayed away until ``until``. A reader (no ``retry``) waits briefly for the lock; a
        stop waits as long as any statement does."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while True:
            with self._cond:
                batch = self._take()
            if not batch:
                return True
            done = self._commit(batch, wait=LOOP_WAIT_SECONDS if retry is None else None)
            with self._cond:
                away = self._done(batch, done)
            if away:
                if retry is None or time.monotonic() + retry >= until:
                    self._schedule(RETRY_SECONDS)
                    return False
                time.sleep(retry)  # a stop, waiting for the database to come back

    # The thread (PostgreSQL) ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue:
                    return  # stopping, and everything is written
                # Group commit: a transaction's commit costs more than its rows, so gather
                # what arrives within `LINGER_SECONDS`, unless the batch is full or awaited.
                self._cond.wait_for(self._now, LINGER_SECONDS)
                batch = self._take()
            done = self._commit(batch)
            with self._cond:
                if self._done(batch, done):
                    # A stop while the store is away tries for `STOP_SECONDS`, then gives
                    # up (rather than hold the process's exit while the database is down).
                    if self._stop_by is not None and time.monotonic() >= self._stop_by:
                        self._give_up()
                        return
                    self._cond.wait(RETRY_SECONDS)

    def _now(self) -> bool:
        return len(self._queue) >= BATCH or self._stopping or self._urgent > self._finished

    # Both ---------------------------------------------------------------------------------

    def _take(self) -> list[Write]:
        return [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]

    def _done(self, batch: list[Write], done: int) -> bool:
        """Count what ``_commit`` did; True when the store was away (the rest is put back in
        front, in order, to be tried again)."""
        self._finished += done
        away = done < len(batch)
        if away:
            self._queue.extendleft(reversed(batch[done:]))
        elif self._dropped and not self._queue:
            log.warning("the state store is back; %d records were dropped", self._dropped)
            self._dropped = 0
        self._cond.notify_all()
        return away

    def _commit(self, batch: list[Write], wait: float | None = None) -> int:
        """How many of ``batch`` are done: all, or none when the store is away."""
        db = self._db
        assert db is not None
        try:
            with db.transaction(wait=wait):
                for write in batch:
                    write(db)
            return len(batch)
        except (StoreUnavailable, sqlite3.OperationalError):
            # Away, or state.db locked past its busy timeout (a long transaction elsewhere),
            # or its disk full: the records wait and are tried again.
            return 0
        except Exception:
            # One bad record must not take its batch with it: one by one, dropping (and
            # logging) only those that fail on their own.
            return self._one_by_one(db, batch)

    def _one_by_one(self, db: Db, batch: list[Write]) -> int:
        for n, write in enumerate(batch):
            try:
                with db.transaction():
                    write(db)
            except (StoreUnavailable, sqlite3.OperationalError):
                return n
            except Exception as exc:
                log.error("a state record was not written: %s", type(exc).__name__)
        return len(batch)

    def _give_up(self) -> None:
        lost = len(self._queue)
        self._queue.clear()
        self._finished += lost
        log.error("the state store is away: %d records were not written", lost)
        self._cond.notify_all()

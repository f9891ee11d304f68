"""The turn records (decisions and usage) written behind the answer, by one background thread
that commits them in batches (docs/architecture.md, "The record writer").

Until `RecordWriter.start` a write runs at once in the caller's thread, in its own
transaction: what a CLI command and an in-memory database use. Started (the gateway does),
a write is queued and the caller goes on; the thread takes everything queued, up to `BATCH`,
and commits it in one transaction on a connection of its own, in the order it was queued.

What this promises:

- order: writes commit in the order they were submitted, and a batch commits whole or not
  at all, so the committed records are always a prefix of the submitted ones;
- a clean stop (`close`) commits everything submitted before it (trying for `STOP_SECONDS`
  when the store is away);
- a crash (SIGKILL, power) loses at most what was queued and not yet committed: the batch
  being written and what queued behind it, at most `LIMIT` writes, normally the turns of the
  last millisecond or so;
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

from clawgate.postgres import StoreUnavailable
from clawgate.state._seam import Db

__all__ = ["BATCH", "LIMIT", "RecordWriter", "Write"]

log = logging.getLogger("clawgate.state")

Write = Callable[[Db], None]  # statements for one record, run inside a transaction

BATCH = 256  # writes per transaction
LIMIT = 50_000  # writes held while the store is away, before the oldest are dropped
RETRY_SECONDS = 1.0
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
        self._thread: threading.Thread | None = None
        self._db: Db | None = None  # the thread's own
        self._stopping = False
        self._stop_by: float | None = None  # when a stop gives up on an away store

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, db: Db) -> None:
        """Write behind from now on, through ``db`` (a connection the thread may use)."""
        if self._thread is not None:
            raise RuntimeError("the record writer is already running")
        self._db = db
        self._stopping = False
        self._stop_by = None
        self._thread = threading.Thread(target=self._run, name="clawgate-records", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> None:
        if self._thread is None:
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
            self._cond.notify_all()

    def settle(self, timeout: float = SETTLE_SECONDS) -> bool:
        """Wait until every write submitted so far is committed (or given up); False when
        ``timeout`` ran out first (the store is away): the reader reads what is there."""
        if self._thread is None:
            return True
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._finished >= target, timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._finished

    def close(self) -> None:
        """Commit what is queued, then stop the thread (and close its connection when it is
        one of its own)."""
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._stop_by = time.monotonic() + STOP_SECONDS
            self._cond.notify_all()
        thread.join()
        self._thread = None
        if self._db is not None and self._db is not self.db:
            self._db.close()
        self._db = None

    # The thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue:
                    return  # stopping, and everything is written
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            done = self._commit(batch)
            with self._cond:
                self._finished += done
                if done < len(batch):
                    # The store is away: put the rest back in front, wait, try again. A stop
                    # while it is away tries for `STOP_SECONDS`, then gives up (rather than
                    # hold the process's exit for as long as the database is down).
                    self._queue.extendleft(reversed(batch[done:]))
                    if self._stop_by is not None and time.monotonic() >= self._stop_by:
                        self._give_up()
                        return
                    self._cond.wait(RETRY_SECONDS)
                elif self._dropped and not self._queue:
                    log.warning("the state store is back; %d records were dropped", self._dropped)
                    self._dropped = 0
                self._cond.notify_all()

    def _commit(self, batch: list[Write]) -> int:
        """How many of ``batch`` are done: all, or none when the store is away."""
        db = self._db
        assert db is not None
        try:
            with db.transaction():
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

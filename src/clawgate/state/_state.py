"""The stores of the state records over one database."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from clawgate.state._db import open_db
from clawgate.state._decisions import DecisionStore
from clawgate.state._health import HealthStore
from clawgate.state._probes import ProbeStore
from clawgate.state._responses import ResponseStore
from clawgate.state._seam import Db, Dialect, SqliteDb
from clawgate.state._sessions import SessionStore
from clawgate.state._telegram import TelegramStore
from clawgate.state._usage import UsageStore
from clawgate.state._usage_report import Grouping, Price, UsageReport, usage_report
from clawgate.state._writer import RecordWriter

__all__ = ["State"]


class State:
    """The stores over one database (`Db`: SQLite's ``state.db`` or PostgreSQL)."""

    def __init__(self, db: Db | sqlite3.Connection) -> None:
        self.conn: Db = SqliteDb(db) if isinstance(db, sqlite3.Connection) else db
        # Decisions and usage: written at once until `write_behind`.
        self.records = RecordWriter(self.conn)
        self.sessions = SessionStore(self.conn)
        self.decisions = DecisionStore(self.conn, self.records)
        self.health = HealthStore(self.conn)
        self.usage = UsageStore(self.conn, self.records)
        self.probes = ProbeStore(self.conn)
        self.responses = ResponseStore(self.conn)
        self.telegram = TelegramStore(self.conn, self.records)

    @classmethod
    def open(cls, path: Path | str) -> State:
        """``state.db`` at ``path`` (SQLite); ``":memory:"`` for a throwaway one."""
        return cls(SqliteDb(open_db(path), str(path)))

    @property
    def backend(self) -> Dialect:
        return self.conn.dialect

    def write_behind(self) -> bool:
        """From now on the decision and usage records are committed behind the answers, in
        batches (`RecordWriter`); what a long-running gateway does. On SQLite, called in a
        running event loop, the loop commits them on this connection (else a thread on a
        connection of its own); on PostgreSQL a thread does. False (and nothing changes) for
        an in-memory database."""
        if self.records.running:
            return True
        if isinstance(self.conn, SqliteDb):
            if self.conn.where in ("", ":memory:"):
                return False
            import asyncio  # here: the CLI's reads need no event loop

            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self.records.start(self.conn, loop)
            else:  # a thread, on a connection of its own
                self.records.start(SqliteDb(open_db(self.conn.where), self.conn.where))
        else:
            self.records.start(self.conn)  # PostgreSQL's pool serves every thread
        return True

    def settle(self) -> None:
        """Every record written so far committed, for a reader that reads the tables itself."""
        self.records.settle()

    def usage_report(self, since: float, by: Grouping, prices: Mapping[str, Price]) -> UsageReport:
        """`usage_report` over these records, the turns this process just answered included."""
        self.settle()
        return usage_report(self.conn, since, by, prices)

    def close(self) -> None:
        """Commit the records still queued, then close."""
        self.records.close()
        self.conn.close()

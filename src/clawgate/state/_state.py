"""The stores of the state records over one database."""

from __future__ import annotations

import sqlite3
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

__all__ = ["State"]


class State:
    """The stores over one database (`Db`: SQLite's ``state.db`` or PostgreSQL)."""

    def __init__(self, db: Db | sqlite3.Connection) -> None:
        self.conn: Db = SqliteDb(db) if isinstance(db, sqlite3.Connection) else db
        self.sessions = SessionStore(self.conn)
        self.decisions = DecisionStore(self.conn)
        self.health = HealthStore(self.conn)
        self.usage = UsageStore(self.conn)
        self.probes = ProbeStore(self.conn)
        self.responses = ResponseStore(self.conn)
        self.telegram = TelegramStore(self.conn)

    @classmethod
    def open(cls, path: Path | str) -> State:
        """``state.db`` at ``path`` (SQLite); ``":memory:"`` for a throwaway one."""
        return cls(SqliteDb(open_db(path), str(path)))

    @property
    def backend(self) -> Dialect:
        return self.conn.dialect

    def close(self) -> None:
        self.conn.close()

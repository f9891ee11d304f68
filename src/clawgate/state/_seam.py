"""The one interface every store runs on, whichever backend holds the records
(docs/architecture.md, "State backends"): ``execute``/``executemany`` with ``?`` placeholders,
rows readable by column name and by position, ``transaction()``, and ``dialect`` for the few
statements that must differ. SQLite's implementation is here; PostgreSQL's is `_pg`.

Stores write portable SQL (``INSERT … ON CONFLICT … DO UPDATE``, ``CASE`` rather than
booleans summed) and ask ``dialect`` only where the engines truly disagree."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol, cast

__all__ = ["Db", "Dialect", "Result", "Row", "SqliteDb"]

Dialect = Literal["sqlite", "postgres"]

BUSY_TIMEOUT_MS = 5000  # how long a statement waits for another connection's write lock


class Row(Protocol):
    """One row: ``row["name"]``, ``row[0]``, ``dict(row)``, unpacking (as `sqlite3.Row`)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Result(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...  # a Row, or None
    def fetchall(self) -> list[Any]: ...  # Rows
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A state database: SQLite in the state directory, or PostgreSQL shared by replicas."""

    @property
    def dialect(self) -> Dialect: ...
    def execute(self, sql: str, params: Sequence[object] = ()) -> Result: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    def transaction(
        self, lock: str | None = None, *, wait: float | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """All statements inside commit together or not at all. Writers are serialized:
        SQLite's ``BEGIN IMMEDIATE`` takes its one write lock, waiting at most ``wait``
        seconds for another connection's (else its busy timeout, 5 s); on PostgreSQL
        ``lock`` names a transaction advisory lock for read-modify-write sections across
        replicas (``wait`` is SQLite's: a PostgreSQL transaction does not wait to begin)."""
        ...

    def describe(self) -> str:
        """Where the records are, for people (never a password)."""
        ...

    def ping(self) -> None:
        """Reach the database once; raises `StoreUnavailable` when it cannot be reached."""
        ...

    def close(self) -> None: ...


class SqliteDb:
    """``state.db``: one connection in autocommit mode; transactions are explicit."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, where: str = "") -> None:
        self.conn = conn
        self.where = where

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        return cast(Result, self.conn.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.conn.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self, lock: str | None = None, *, wait: float | None = None) -> Iterator[None]:
        # One writer at a time for the whole file: `lock` needs no name here.
        if wait is not None:
            self.conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                yield
        finally:
            if wait is not None:
                self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def describe(self) -> str:
        return f"sqlite ({self.where or 'in memory'})"

    def ping(self) -> None:
        self.conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self.conn.close()

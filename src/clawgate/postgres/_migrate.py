"""Named, ordered migrations on PostgreSQL, the same discipline as ``state.db``'s
(docs/style.md, "One opener for state.db"): each applied once, in its own transaction, and
recorded in a table of names. Run under a session advisory lock, so replicas starting at once
migrate once: the second waits, then finds every name recorded."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import psycopg

__all__ = ["Named", "migrate", "pending"]


class Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def sql(self) -> str: ...


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], migrations: Sequence[Named], *, table: str
) -> list[str]:
    """Apply what is missing; the names applied now. ``conn`` must be in autocommit mode."""
    _check_table_name(table)
    applied: list[str] = []
    # hashtext(): a stable 32-bit key per migrations table, so the state's and the vault's
    # migrations do not wait for each other.
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (table,))
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {row[0] for row in conn.execute(f"SELECT name FROM {table}")}  # noqa: S608
        for migration in migrations:
            if migration.name in done:
                continue
            with conn.transaction():
                conn.execute(migration.sql)  # our own, fixed SQL; several statements
                conn.execute(
                    f"INSERT INTO {table} (name, applied_at) VALUES (%s, %s)",  # noqa: S608
                    (migration.name, time.time()),
                )
            applied.append(migration.name)
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (table,))
    return applied


def pending(
    conn: psycopg.Connection[tuple[object, ...]], migrations: Sequence[Named], *, table: str
) -> list[str]:
    """The names not yet applied (for ``doctor`` and ``models status``), changing nothing."""
    _check_table_name(table)
    exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    if exists is None or exists[0] is None:
        return [m.name for m in migrations]
    done = {row[0] for row in conn.execute(f"SELECT name FROM {table}")}  # noqa: S608
    return [m.name for m in migrations if m.name not in done]


def _check_table_name(table: str) -> None:
    # Interpolated into SQL: only our own identifiers.
    if not table.replace("_", "").isalnum() or not table[:1].isalpha():
        raise ValueError(f"not a table name: {table!r}")

"""Which state backend is in use and whether it is usable, for ``doctor`` and ``models
status``: SQLite's ``state.db`` readable and current, or PostgreSQL reachable and current.
Nothing is created or migrated here (``repair`` does that, for ``doctor --fix``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from clawgate.config import Paths, Settings
from clawgate.errors import ClawgateError
from clawgate.postgres import connect, database_url, pending, redacted
from clawgate.state._db import MIGRATIONS
from clawgate.state._open import open_state
from clawgate.state._pg import MIGRATIONS_TABLE, PG_MIGRATIONS
from clawgate.state._seam import Dialect

__all__ = ["StoreCheck", "check_store", "repair_store"]


@dataclass(frozen=True)
class StoreCheck:
    backend: Dialect
    where: str  # the file, or the connection string without its password
    status: Literal["ok", "warn", "fail"]
    message: str
    fix: str | None = None
    pending: tuple[str, ...] = ()  # migrations not applied yet

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "pending": list(self.pending)}


def check_store(settings: Settings, paths: Paths, env: Mapping[str, str]) -> StoreCheck:
    if settings.state.backend == "postgres":
        return _check_postgres(env)
    return _check_sqlite(paths)


def repair_store(settings: Settings, paths: Paths, env: Mapping[str, str]) -> None:
    """Apply the missing migrations (as the next start would)."""
    open_state(settings, paths, env).close()


def _check_sqlite(paths: Paths) -> StoreCheck:
    db = paths.state_db
    if not db.exists():
        return StoreCheck("sqlite", str(db), "ok", "not created yet (the first turn creates it)")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name FROM migrations").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return StoreCheck("sqlite", str(db), "fail", f"cannot be read: {exc}", f"move {db} aside")
    return _current("sqlite", str(db), MIGRATIONS, {name for (name,) in rows})


def _check_postgres(env: Mapping[str, str]) -> StoreCheck:
    try:
        url = database_url(env)
    except ClawgateError as exc:
        return StoreCheck("postgres", "(not set)", "fail", exc.message, exc.fix)
    where = redacted(url)
    try:
        with connect(url) as conn:
            missing = pending(conn, PG_MIGRATIONS, table=MIGRATIONS_TABLE)
    except ClawgateError as exc:  # StoreUnavailable: away, refused, wrong password
        return StoreCheck("postgres", where, "fail", exc.message, exc.fix)
    except Exception as exc:  # psycopg: e.g. no permission to read the migrations table
        return StoreCheck(
            "postgres",
            where,
            "fail",
            f"cannot be read: {type(exc).__name__}",
            "check the database user's rights on it",
        )
    applied = {m.name for m in PG_MIGRATIONS} - set(missing)
    return _current("postgres", where, PG_MIGRATIONS, applied, reachable=True)


def _current(
    backend: Dialect,
    where: str,
    migrations: tuple[Any, ...],
    applied: set[str],
    *,
    reachable: bool = False,
) -> StoreCheck:
    missing = tuple(m.name for m in migrations if m.name not in applied)
    said = "reachable, " if reachable else ""
    if not missing:
        return StoreCheck(
            backend, where, "ok", f"{said}schema up to date ({len(migrations)} migrations)"
        )
    return StoreCheck(
        backend,
        where,
        "warn",
        f"{said}migrations not applied yet: {', '.join(missing)} (the next start applies them)",
        "clawgate doctor --fix",
        missing,
    )

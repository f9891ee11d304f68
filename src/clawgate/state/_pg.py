"""The state records on PostgreSQL (``state.backend: "postgres"``): the seam's `Db` over a
small `psycopg_pool.ConnectionPool`, synchronous like SQLite's (the stores are called from
the event loop's thread and each call is one short statement; docs/architecture.md, "State
backends").

When the database is away, every call raises `StoreUnavailable`: the first within the pool's
wait, the next ones within a short wait for a connection attempt (`_Probe`); a connection is
checked as it is taken (a dead one is replaced, not handed out), and the first call that
reaches the server again starts a fresh pool, so the store recovers by itself, with no
restart."""

from __future__ import annotations

import contextlib
import select
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from clawgate.postgres import DATABASE_URL_ENV, StoreUnavailable, connect, migrate, redacted
from clawgate.state._pg_schema import PG_MIGRATIONS
from clawgate.state._seam import Dialect, Result

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PG_MIGRATIONS", "PostgresDb", "open_postgres"]

MIGRATIONS_TABLE = "migrations"
POOL_MAX = 4  # the event loop's thread, and the few threads that record beside it
WAIT_SECONDS = 2.0  # how long a call waits for a connection before the store is "away"
PROBE_WAIT_SECONDS = 0.5  # while it is away: how long a call waits for a reconnection attempt


def open_postgres(url: str) -> PostgresDb:
    """Migrate (under the advisory lock: replicas starting at once migrate once), then pool."""
    with connect(url) as conn:
        migrate(conn, PG_MIGRATIONS, table=MIGRATIONS_TABLE)
    return PostgresDb(url)


class PostgresDb:
    dialect: Dialect = "postgres"

    def __init__(self, url: str, *, timeout: float = WAIT_SECONDS) -> None:
        self.url = url
        self.timeout = timeout
        self._held = threading.local()  # the connection of this thread's open transaction
        self.away = False  # the last call found the database away
        self._probe = _Probe(url)
        # One thread replaces the pool at a time: the record writer's thread and the event
        # loop's may both find the database back (`state._writer`).
        self._recovering = threading.Lock()
        self.pool = self._new_pool()

    def _new_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        from psycopg_pool import ConnectionPool

        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self.url,
            min_size=1,
            max_size=POOL_MAX,
            open=False,
            timeout=self.timeout,
            check=_check,
            # Keep trying while the database is away; never give the pool up.
            reconnect_timeout=365 * 86400.0,
            kwargs={
                "autocommit": True,
                "row_factory": _rows,
                "connect_timeout": 5,
                "application_name": "clawgate",
            },
            name="clawgate-state",
        )
        pool.open(wait=False)
        return pool

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        held = getattr(self._held, "conn", None)
        if held is not None:
            return _run(held, sql, params)
        with self._connection() as conn:
            return _run(conn, sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        held = getattr(self._held, "conn", None)
        if held is not None:
            held.cursor().executemany(_pg_sql(sql), [_params(r) for r in rows])
            return
        with self._connection() as conn:
            conn.cursor().executemany(_pg_sql(sql), [_params(r) for r in rows])

    @contextlib.contextmanager
    def transaction(self, lock: str | None = None, *, wait: float | None = None) -> Iterator[None]:
        if getattr(self._held, "conn", None) is not None:
            yield  # already inside one: a part of it
            return
        with self._connection() as conn, conn.transaction():
            self._held.conn = conn
            try:
                if lock is not None:
                    # Read-modify-write across replicas, one at a time (as BEGIN IMMEDIATE
                    # on SQLite); released at COMMIT or ROLLBACK, or when the session dies.
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))", ("clawgate.state." + lock,)
                    )
                yield
            finally:
                self._held.conn = None

    def describe(self) -> str:
        return f"postgres ({redacted(self.url)})"

    def ping(self) -> None:
        self.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self.pool.close()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            if self.away:
                with self._recovering:
                    if self.away:  # not already replaced by the other thread
                        self._back()
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self.away = True
            raise StoreUnavailable(
                f"the state store (PostgreSQL at {redacted(self.url)}) is unavailable: "
                f"{_first_line(exc)}",
                fix=f"start the database, or check {DATABASE_URL_ENV}; clawgate reconnects "
                "by itself",
            ) from None

    def _back(self) -> None:
        """While the database is away, a call does not wait out the pool's reconnect backoff
        (nor block the event loop for a connect timeout): it waits briefly for a connection
        attempt of its own; when one connects, a fresh pool replaces the one that lost its
        server."""
        self._probe.reached(PROBE_WAIT_SECONDS)
        stale, self.pool = self.pool, self._new_pool()
        self.away = False
        stale.close(timeout=1.0)


class _Probe:
    """One connection attempt at a time, in a thread of its own: a server that answers
    (or refuses) is known at once; one that drops packets costs a call ``wait`` seconds, not
    the connect timeout, while the attempt goes on for the next call to find."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._done: threading.Event | None = None
        self._error: str | None = None

    def reached(self, wait: float) -> None:
        """Returns when an attempt connected; raises `psycopg.OperationalError` if not."""
        import psycopg

        with self._lock:
            if self._done is None or self._done.is_set():
                self._done, self._error = threading.Event(), "no answer yet"
                threading.Thread(
                    target=self._attempt,
                    args=(self._done,),
                    name="clawgate-state-probe",
                    daemon=True,
                ).start()
            done = self._done
        if not done.wait(wait) or self._error is not None:
            raise psycopg.OperationalError(self._error or "no answer yet")

    def _attempt(self, done: threading.Event) -> None:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=5, application_name="clawgate").close()
            self._error = None
        except psycopg.Error as exc:
            self._error = _first_line(exc)
        finally:
            done.set()


def _check(conn: psycopg.Connection[Any]) -> None:
    """The pool's check of a connection it hands out, without a round trip when it can: an
    idle connection has nothing to read unless the server ended it (a restart, a shutdown
    sends a last message, or the socket closes), so only then is it asked (and dropped)."""
    from psycopg_pool import ConnectionPool

    if conn.closed or conn.broken:
        raise conn.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


class _Fetched:
    """A statement's rows, read at once (the connection goes back to the pool)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class _Row:
    """By name and by position, as `sqlite3.Row`."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"_Row({dict(zip(self._index, self._values, strict=True))!r})"


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    """psycopg's row factory for `_Row`."""
    index = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: _Row(index, values)


def _run(conn: psycopg.Connection[Any], sql: str, params: Sequence[object]) -> _Fetched:
    cur = conn.execute(_pg_sql(sql), _params(params))
    rows = cur.fetchall() if cur.description is not None else []
    return _Fetched(rows, cur.rowcount)


@lru_cache(maxsize=256)
def _pg_sql(sql: str) -> str:
    """``?`` → ``%s`` outside string literals, and ``%`` doubled (psycopg's own marker)."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def _params(params: Sequence[object]) -> tuple[object, ...]:
    # PostgreSQL's text cannot hold NUL (SQLite's can): shown as U+FFFD. Whole messages are
    # kept as JSON, where NUL is escaped, so what replays is exact.
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) else p for p in params)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

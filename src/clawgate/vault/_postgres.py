"""The vault in PostgreSQL, for ``state.backend: "postgres"``: several gateways share one set
of logins (docs/auth.md, "Where the vault keeps its bytes").

::

    vault_envelopes (profile_id PK, envelope BYTEA)   the same sealed bytes as profiles/<id>.json
    vault_ledger    (id = 1, document BYTEA)          the same signed document as meta/ledger.json
    vault_secrets   (name PK, envelope BYTEA)         the same sealed bytes as secrets/<name>.json

What goes in is what the file backend writes, byte for byte: envelopes AES-256-GCM sealed to
their profile, provider and generation; the ledger HMAC-signed under a key derived from the
data key. The data key itself never does (env, keyring or file, as on disk), so a copy of the
database decrypts nothing and can sign no ledger.

A write is one transaction: the envelope and its ledger entry change together, under a
transaction-level advisory lock on the ledger, so the ledger never lags behind an envelope
here. A profile's lock is a session-level ``pg_advisory_lock`` (PostgreSQL docs, "Advisory
Locks") on a connection of its own, held around read → refresh → persist: the server drops it
with the session when its holder dies, so no lock outlives a crashed replica and nothing of
ours heartbeats. The wait is bounded by ``lock_timeout`` (the lock's timeout), which applies
to advisory locks as to any other.

Rollback: the ledger is one row for every profile, so putting a profile's old envelope row
back, or its old envelope and an old ledger row together, is seen as long as the ledger row
is newer than that envelope (as on disk). Beyond the file backend, each process remembers the
highest generation it has seen per profile: a ledger row put back while a replica runs is
reported by that replica (docs/security.md).
"""

from __future__ import annotations

import threading
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from clawgate.errors import ClawgateError
from clawgate.postgres import (
    DATABASE_URL_ENV,
    StoreUnavailable,
    connect,
    database_url,
    migrate,
    redacted,
)
from clawgate.vault._key import DataKey
from clawgate.vault._ledger import Entry, LedgerBroken, sign, verify
from clawgate.vault._storage import Change

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "MIGRATIONS_TABLE", "PostgresStorage"]

T = TypeVar("T")
Conn: TypeAlias = "psycopg.Connection[tuple[object, ...]]"

MIGRATIONS_TABLE = "vault_migrations"
_NAMESPACE = "clawgate.vault"  # the advisory lock's first key: hashtext(_NAMESPACE)
_LEDGER = "the vault_ledger row"
_DISCARD = "DELETE FROM vault_ledger"


@dataclass(frozen=True)
class _Migration:
    name: str
    sql: str


MIGRATIONS = (
    _Migration(
        "0001_vault",
        """
        CREATE TABLE vault_envelopes (
            profile_id TEXT PRIMARY KEY,
            envelope BYTEA NOT NULL
        );
        CREATE TABLE vault_ledger (
            id SMALLINT PRIMARY KEY CHECK (id = 1),
            document BYTEA NOT NULL
        );
        CREATE TABLE vault_secrets (
            name TEXT PRIMARY KEY,
            envelope BYTEA NOT NULL
        );
        """,
    ),
)


def _bytes(value: object) -> bytes:
    """A BYTEA column's value (psycopg gives bytes; memoryview on some adapters)."""
    if not isinstance(value, bytes | memoryview):
        raise TypeError(f"expected BYTEA, got {type(value).__name__}")
    return bytes(value)


class _AdvisoryLock:
    """A session-level advisory lock on a connection of its own, closed on release."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[tuple[object, ...]]],
        stem: str,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._stem = stem
        self._timeout = timeout
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def acquire(self, busy: Callable[[], Exception]) -> None:
        import psycopg

        conn = self._connect()
        try:
            keys = (_NAMESPACE, self._stem)
            if self._timeout <= 0:  # lock_timeout 0 would mean "wait forever"
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))", keys
                ).fetchone()
                if row is None or not row[0]:
                    raise busy()
            else:
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, false)",
                    (f"{max(1, round(self._timeout * 1000))}ms",),
                )
                try:
                    conn.execute("SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))", keys)
                except psycopg.errors.LockNotAvailable:
                    raise busy() from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # the session ends: its advisory locks go with it


class PostgresStorage:
    """`_storage.Storage` on PostgreSQL: one connection for reads and writes (reopened after
    the server went away), and a fresh one for each lock held."""

    name = "postgres"

    def __init__(self, url: str, key: Callable[[], DataKey]) -> None:
        self.url = url
        self._key = key
        self._guard = threading.Lock()  # one statement at a time on the shared connection
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        # The highest generation seen per profile by this process (see the module's text).
        self._seen: dict[str, int] = {}
        self._finalizer: weakref.finalize[[], PostgresStorage] | None = None

    def where(self, profile_id: str) -> str:
        return f"(PostgreSQL vault_envelopes, profile {profile_id})"

    def secret_where(self, name: str) -> str:
        return f"(PostgreSQL vault_secrets, {name})"

    # The connection ---------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A new connection; no connection string is `StoreUnavailable` too, with its fix."""
        try:
            url = database_url({DATABASE_URL_ENV: self.url})
        except ClawgateError as exc:
            raise StoreUnavailable(exc.message, fix=exc.fix) from None
        return connect(url)

    def _open(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = self._connect()
        try:
            migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
        except BaseException:
            conn.close()
            raise
        # Closed when the vault is collected or the interpreter exits, if not before.
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, conn.close)
        return conn

    def _run(self, work: Callable[[Conn], T], *, transaction: bool = False) -> T:
        """``work`` on the shared connection, one caller at a time (in one transaction when
        asked). A connection kept from before the server went away (or restarted) fails
        its first statement: the work is tried once more on a new one, which is safe, since
        every write here is idempotent (the same bytes; a high water is a max). A server
        still away is `StoreUnavailable`, and the next call reconnects."""
        import psycopg

        with self._guard:
            for retry in (False, True):
                fresh = self._conn is None or self._conn.closed
                if fresh:
                    self._conn = self._open()
                conn = self._conn
                assert conn is not None
                try:
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except psycopg.OperationalError as exc:
                    self._drop()
                    if fresh or retry:
                        text = str(exc).strip()
                        raise StoreUnavailable(
                            f"the state store (PostgreSQL at {redacted(self.url)}) failed: "
                            f"{text.splitlines()[0] if text else 'connection lost'}",
                            fix="start the database, or check CLAWGATE_DATABASE_URL",
                        ) from None
            raise AssertionError("unreachable")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._guard:
            self._drop()
        if self._finalizer is not None:
            self._finalizer.detach()

    # Envelopes --------------------------------------------------------------------------

    def read(self, profile_id: str) -> bytes | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT envelope FROM vault_envelopes WHERE profile_id = %s", (profile_id,)
            ).fetchone()
        )
        return None if row is None else _bytes(row[0])

    def exists(self, profile_id: str) -> bool:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT 1 FROM vault_envelopes WHERE profile_id = %s", (profile_id,)
            ).fetchone()
        )
        return row is not None

    def profile_ids(self) -> list[str]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT profile_id FROM vault_envelopes ORDER BY 1"
            ).fetchall()
        )
        return [str(row[0]) for row in rows]

    def holds_envelopes(self) -> bool:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT EXISTS (SELECT 1 FROM vault_envelopes) "
                "OR EXISTS (SELECT 1 FROM vault_secrets)"
            ).fetchone()
        )
        return bool(row and row[0])

    def write(self, profile_id: str, envelope: bytes, change: Change) -> None:
        """The envelope and its ledger entry in one transaction: both, or neither."""

        def work(conn: Conn) -> int:
            conn.execute(
                "INSERT INTO vault_envelopes (profile_id, envelope) VALUES (%s, %s) "
                "ON CONFLICT (profile_id) DO UPDATE SET envelope = EXCLUDED.envelope",
                (profile_id, envelope),
            )
            return self._change(conn, profile_id, change)

        self._saw(profile_id, self._run(work, transaction=True))

    def remove(self, profile_id: str, change: Change) -> bool:
        def work(conn: Conn) -> int | None:
            gone = conn.execute(
                "DELETE FROM vault_envelopes WHERE profile_id = %s", (profile_id,)
            ).rowcount
            return self._change(conn, profile_id, change) if gone else None

        high_water = self._run(work, transaction=True)
        if high_water is None:
            return False
        self._saw(profile_id, high_water)
        return True

    # The ledger -------------------------------------------------------------------------

    def entry(self, profile_id: str) -> Entry:
        entries = self._run(self._entries)
        return self._checked(profile_id, entries.get(profile_id, Entry()))

    def record(self, profile_id: str, change: Change) -> None:
        high_water = self._run(
            lambda conn: self._change(conn, profile_id, change), transaction=True
        )
        self._saw(profile_id, high_water)

    def _entries(self, conn: Conn) -> dict[str, Entry]:
        row = conn.execute("SELECT document FROM vault_ledger WHERE id = 1").fetchone()
        if row is None:
            return {}
        return verify(_bytes(row[0]), self._key(), _LEDGER, _DISCARD)

    def _change(self, conn: Conn, profile_id: str, change: Change) -> int:
        """Inside the caller's transaction: the ledger's writers take turns (the lock is the
        transaction's, released at its commit or rollback). The new high water."""
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (_NAMESPACE, "ledger")
        )
        entries = dict(self._entries(conn))
        old = self._checked(profile_id, entries.get(profile_id, Entry()))
        entries[profile_id] = new = change(old)
        conn.execute(
            "INSERT INTO vault_ledger (id, document) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document",
            (sign(entries, self._key()),),
        )
        return new.high_water

    def _saw(self, profile_id: str, high_water: int) -> None:
        """Committed: this process has seen ``high_water`` for the profile."""
        self._seen[profile_id] = max(self._seen.get(profile_id, 0), high_water)

    def _checked(self, profile_id: str, entry: Entry) -> Entry:
        """The entry, unless it is older than one this process has seen: the ledger row was
        put back (a restore of the database, or of that row)."""
        seen = self._seen.get(profile_id, 0)
        if entry.high_water < seen:
            raise LedgerBroken(
                f"the vault's ledger ({_LEDGER}) says generation {entry.high_water} for "
                f"profile {profile_id}, but this process saw generation {seen}: the database "
                "(or that row) was put back to an older copy",
                "log in again for the profiles that fail, or restore the newest backup",
            )
        self._saw(profile_id, entry.high_water)
        return entry

    # clawgate's own secrets -------------------------------------------------------------

    def read_secret(self, name: str) -> bytes | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT envelope FROM vault_secrets WHERE name = %s", (name,)
            ).fetchone()
        )
        return None if row is None else _bytes(row[0])

    def secret_names(self) -> list[str]:
        rows = self._run(
            lambda conn: conn.execute("SELECT name FROM vault_secrets ORDER BY 1").fetchall()
        )
        return [str(row[0]) for row in rows]

    def write_secret(self, name: str, envelope: bytes) -> None:
        self._run(
            lambda conn: conn.execute(
                "INSERT INTO vault_secrets (name, envelope) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET envelope = EXCLUDED.envelope",
                (name, envelope),
            )
        )

    def secret_stamp(self, name: str) -> tuple[int, int, int] | None:
        """(CRC-32, size, 0) of the sealed bytes: each write seals with a fresh nonce, so any
        write changes it; no time part, so nothing waits for a clock to settle."""
        raw = self.read_secret(name)
        return None if raw is None else (zlib.crc32(raw), len(raw), 0)

    # Locks ------------------------------------------------------------------------------

    def lock(self, stem: str, timeout: float) -> _AdvisoryLock:
        return _AdvisoryLock(self._connect, stem, timeout)

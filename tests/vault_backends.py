"""The vault's two storage backends for tests: every vault and broker test runs on the state
directory's files and on a real PostgreSQL database (tests/postgres.py).

`vault_backend` (parametrized) picks the backend of the test; `make_vault` opens a vault on it
(the helpers of tests/vault and tests/auth call it), and the raw accessors play someone who
can write where the vault keeps its bytes but holds no key: the file's bytes, or the row's.

A subprocess (a worker of the concurrency tests) finds the database in ``VAULT_TEST_URL``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from clawgate.vault import KeyResolver, LockTimeout, Vault
from clawgate.vault._postgres import PostgresStorage

__all__ = [
    "URL_ENV",
    "make_vault",
    "put_raw",
    "put_raw_secret",
    "raw",
    "raw_secret",
    "remove_raw",
    "tables_bytes",
    "vault_backend",
    "worker_env",
]

URL_ENV = "VAULT_TEST_URL"


class _Current:
    url: str | None = os.environ.get(URL_ENV) or None
    opened: list[Vault] = []  # noqa: RUF012  (one test's vaults, closed at its end)


def make_vault(vault_dir: Path, keys: KeyResolver, **options: Any) -> Vault:
    """A vault on the current test's backend."""
    url = _Current.url
    if url is None:
        return Vault(vault_dir, keys, **options)
    vault = Vault(vault_dir, keys, storage=lambda v: PostgresStorage(url, v.key), **options)
    _Current.opened.append(vault)
    return vault


def on_postgres() -> bool:
    return _Current.url is not None


def worker_env() -> dict[str, str]:
    """The environment for a subprocess that must open the same vault."""
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    if _Current.url is not None:
        env[URL_ENV] = _Current.url
    return env


@pytest.fixture(params=["files", "postgres"])
def vault_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgres":
        _Current.url = request.getfixturevalue("database_url")
    try:
        yield str(request.param)
    finally:
        for vault in _Current.opened:
            vault.close()
        _Current.opened.clear()
        _Current.url = None


# Someone with write access to the storage but no key ---------------------------------------


def _sql(url: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def raw(vault: Vault, profile_id: str) -> bytes:
    if isinstance(vault.storage, PostgresStorage):
        rows = _sql(
            vault.storage.url,
            "SELECT envelope FROM vault_envelopes WHERE profile_id = %s",
            (profile_id,),
        )
        assert rows, f"no row for {profile_id}"
        return bytes(rows[0][0])
    return vault.envelope_path(profile_id).read_bytes()


def put_raw(vault: Vault, profile_id: str, data: bytes) -> None:
    if isinstance(vault.storage, PostgresStorage):
        _sql(
            vault.storage.url,
            "INSERT INTO vault_envelopes (profile_id, envelope) VALUES (%s, %s) "
            "ON CONFLICT (profile_id) DO UPDATE SET envelope = EXCLUDED.envelope",
            (profile_id, data),
        )
        return
    path = vault.envelope_path(profile_id)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(data)


def remove_raw(vault: Vault, profile_id: str) -> None:
    if isinstance(vault.storage, PostgresStorage):
        _sql(vault.storage.url, "DELETE FROM vault_envelopes WHERE profile_id = %s", (profile_id,))
        return
    vault.envelope_path(profile_id).unlink()


def raw_secret(vault: Vault, name: str) -> bytes:
    if isinstance(vault.storage, PostgresStorage):
        rows = _sql(
            vault.storage.url, "SELECT envelope FROM vault_secrets WHERE name = %s", (name,)
        )
        assert rows, f"no row for {name}"
        return bytes(rows[0][0])
    return vault.secret_path(name).read_bytes()


def put_raw_secret(vault: Vault, name: str, data: bytes) -> None:
    if isinstance(vault.storage, PostgresStorage):
        _sql(
            vault.storage.url,
            "INSERT INTO vault_secrets (name, envelope) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET envelope = EXCLUDED.envelope",
            (name, data),
        )
        return
    vault.secret_path(name).write_bytes(data)


def tables_bytes(url: str) -> bytes:
    """Every value of every row of every table of the database, concatenated (a BYTEA as its
    raw bytes, anything else as text): what a copy of the database holds."""
    out: list[bytes] = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        assert tables, "no tables"
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
                for value in row:
                    out.append(
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
    return b"\n".join(out)


def ledger_where(vault: Vault) -> str:
    """How the vault's messages name the ledger."""
    if isinstance(vault.storage, PostgresStorage):
        return "the vault_ledger row"
    return str(vault.dir / "meta" / "ledger.json")


def ledger_discard(vault: Vault) -> str:
    """The command the vault's fix names to remove the ledger."""
    if isinstance(vault.storage, PostgresStorage):
        return "DELETE FROM vault_ledger"
    return f"rm {vault.dir / 'meta' / 'ledger.json'}"


def raw_ledger(vault: Vault) -> bytes:
    if isinstance(vault.storage, PostgresStorage):
        rows = _sql(vault.storage.url, "SELECT document FROM vault_ledger WHERE id = 1")
        assert rows, "no ledger row"
        return bytes(rows[0][0])
    return (vault.dir / "meta" / "ledger.json").read_bytes()


def put_raw_ledger(vault: Vault, data: bytes) -> None:
    if isinstance(vault.storage, PostgresStorage):
        _sql(
            vault.storage.url,
            "INSERT INTO vault_ledger (id, document) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document",
            (data,),
        )
        return
    (vault.dir / "meta" / "ledger.json").write_bytes(data)


def remove_ledger(vault: Vault) -> None:
    if isinstance(vault.storage, PostgresStorage):
        _sql(vault.storage.url, "DELETE FROM vault_ledger")
        return
    (vault.dir / "meta" / "ledger.json").unlink()


def files_only(reason: str) -> pytest.MarkDecorator:
    """For a test of what exists only on the file backend; the reason says why."""
    return pytest.mark.files_only(reason=reason)


def held_elsewhere(vault: Vault, profile_id: str) -> bool:
    """Whether another process holds the profile's lock now (a try that does not wait)."""
    try:
        with vault.lock(profile_id, timeout=0):
            return False
    except LockTimeout:
        return True


@contextlib.contextmanager
def using_database(url: str) -> Iterator[str]:
    """Vaults made by `make_vault` meanwhile keep their bytes in ``url``; closed at the end."""
    _Current.url = url
    try:
        yield url
    finally:
        for vault in _Current.opened:
            vault.close()
        _Current.opened.clear()
        _Current.url = None


@pytest.fixture
def on_database(database_url: str) -> Iterator[str]:
    """The vault on PostgreSQL alone (tests of what only a shared database does)."""
    with using_database(database_url) as url:
        yield url

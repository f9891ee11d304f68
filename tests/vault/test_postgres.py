"""What only the PostgreSQL storage does: the database goes away and comes back, the lock's
wait leaves the event loop free, and the tables are the vault's own migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest

from clawgate.postgres import StoreUnavailable, pending
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, KeyResolver, LockTimeout, Vault
from clawgate.vault._postgres import MIGRATIONS, MIGRATIONS_TABLE, PostgresStorage
from tests.postgres import PostgresServer, running_postgres
from tests.vault.helpers import open_vault
from tests.vault.test_processes import spawn

pytestmark = pytest.mark.postgres_only
PROFILE = "openai:default"
KEY = ApiKeyMaterial(Secret("sk-pg-0123456789"))


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server of this module's own, to stop and start (the session's is shared)."""
    with running_postgres() as server:
        yield server


def test_the_database_away_is_store_unavailable_and_it_recovers(
    tmp_path: Path, own_server: PostgresServer
) -> None:
    url = own_server.database()
    vault_dir = tmp_path / "vault"
    vault = Vault(
        vault_dir,
        KeyResolver(vault_dir, {}),
        storage=lambda v: PostgresStorage(url, v.key),
        lock_timeout=5,
    )
    try:
        vault.save(PROFILE, "openai", KEY)
        own_server.stop()
        try:
            with pytest.raises(StoreUnavailable) as info:
                vault.load(PROFILE)
            assert "PostgreSQL" in info.value.message
            assert info.value.fix is not None
            with pytest.raises(StoreUnavailable):  # a write too: nothing half done
                vault.save(PROFILE, "openai", ApiKeyMaterial(Secret("sk-while-away-0123")))
        finally:
            own_server.start()
        # Back: the very next call works, on a new connection, and nothing was lost.
        stored = vault.load(PROFILE)
        assert (stored.material, stored.generation) == (KEY, 1)
        assert vault.save(PROFILE, "openai", KEY).generation == 2
    finally:
        vault.close()


def test_a_server_restart_under_an_open_connection_is_not_an_error(
    tmp_path: Path, own_server: PostgresServer
) -> None:
    url = own_server.database()
    vault_dir = tmp_path / "vault"
    vault = Vault(
        vault_dir, KeyResolver(vault_dir, {}), storage=lambda v: PostgresStorage(url, v.key)
    )
    try:
        vault.save(PROFILE, "openai", KEY)
        own_server.stop()
        own_server.start()
        assert vault.load(PROFILE).material == KEY  # the dead connection is replaced
    finally:
        vault.close()


def test_the_vault_tables_are_its_own_migrations(tmp_path: Path, database_url: str) -> None:
    open_vault(tmp_path).save(PROFILE, "openai", KEY)
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert pending(conn, MIGRATIONS, table=MIGRATIONS_TABLE) == []
        tables = {
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert {"vault_envelopes", "vault_ledger", "vault_secrets", MIGRATIONS_TABLE} <= tables


@pytest.mark.anyio
async def test_waiting_for_the_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save(PROFILE, "openai", KEY)
    holder = spawn(tmp_path, "hold-lock", PROFILE)  # another replica, on the same database
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    order: list[str] = []
    try:

        async def waiter() -> None:
            with pytest.raises(LockTimeout, match="locked by another clawgate process"):
                async with vault.alock(PROFILE, wait=1.0):
                    pass
            order.append("lock wait over")

        async def other() -> None:
            order.append("the loop ran meanwhile")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(waiter)
            await anyio.lowlevel.checkpoint()  # the waiter is now inside its wait
            tasks.start_soon(other)
    finally:
        holder.kill()
        holder.communicate()
    assert order == ["the loop ran meanwhile", "lock wait over"]

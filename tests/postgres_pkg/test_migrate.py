"""The PostgreSQL migration runner, on a real server: once each, recorded, and once only when
several replicas start at the same moment."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from clawgate.errors import ClawgateError
from clawgate.postgres import StoreUnavailable, connect, database_url, migrate, pending, redacted


@dataclass(frozen=True)
class M:
    name: str
    sql: str


STEPS = (
    M("0001_things", "CREATE TABLE things (id BIGINT PRIMARY KEY); CREATE INDEX t_i ON things(id)"),
    M("0002_more", "ALTER TABLE things ADD COLUMN note TEXT"),
)


def test_migrations_apply_once_and_are_recorded(database_url: str) -> None:
    with connect(database_url) as conn:
        assert pending(conn, STEPS, table="m") == ["0001_things", "0002_more"]
        assert migrate(conn, STEPS, table="m") == ["0001_things", "0002_more"]
        assert migrate(conn, STEPS, table="m") == []
        assert pending(conn, STEPS, table="m") == []
        conn.execute("INSERT INTO things (id, note) VALUES (1, 'x')")


def test_a_failing_migration_leaves_nothing_half_done(database_url: str) -> None:
    broken = (*STEPS, M("0003_broken", "ALTER TABLE things ADD COLUMN a TEXT; SELECT nope"))
    with connect(database_url) as conn:
        with pytest.raises(Exception, match="nope"):
            migrate(conn, broken, table="m")
        assert pending(conn, broken, table="m") == ["0003_broken"]
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'things'"
            )
        }
        assert "a" not in columns


def test_replicas_starting_at_once_migrate_once(database_url: str) -> None:
    results: list[list[str]] = []
    start = threading.Barrier(4)

    def replica() -> None:
        with connect(database_url) as conn:
            start.wait()
            results.append(migrate(conn, STEPS, table="m"))

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(tuple, results)) == [(), (), (), ("0001_things", "0002_more")]


def test_the_connection_string_comes_from_the_environment_only() -> None:
    with pytest.raises(ClawgateError, match="CLAWGATE_DATABASE_URL is not set"):
        database_url({})
    assert database_url({"CLAWGATE_DATABASE_URL": " postgresql://h/db "}) == "postgresql://h/db"


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = "postgresql://u:hunter2-secret@127.0.0.1:1/db"
    with pytest.raises(StoreUnavailable) as caught:
        connect(url)
    assert "hunter2-secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
    assert "hunter2-secret" not in redacted(url)

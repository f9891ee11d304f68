from __future__ import annotations

import stat
from pathlib import Path

import pytest

from clawgate.state import MIGRATIONS, Migration, State, StoredMessage, open_db


def test_a_new_state_db_is_private_and_fully_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.db"
    state = State.open(path)
    state.sessions.append("s", "t", [StoredMessage("user", "hi")], now=1.0)
    state.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for side in path.parent.glob("state.db-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600
    conn = open_db(path)
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_applies_only_new_migrations_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = State.open(path)
    state.sessions.append("s", "t", [StoredMessage("user", "kept")], now=1.0)
    state.close()
    extra = Migration("9999_extra", "CREATE TABLE extra (x INTEGER);")
    conn = open_db(path, (*MIGRATIONS, extra))
    assert conn.execute("SELECT count(*) FROM extra").fetchone()[0] == 0
    assert State(conn).sessions.history("s") == [StoredMessage("user", "kept")]


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    broken = Migration("9999_broken", "CREATE TABLE half (x INTEGER); CREATE TABLE half (x);")
    with pytest.raises(Exception, match="already exists"):
        open_db(path, (*MIGRATIONS, broken))
    conn = open_db(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables
    assert "9999_broken" not in {r[0] for r in conn.execute("SELECT name FROM migrations")}

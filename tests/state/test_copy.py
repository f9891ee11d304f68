"""`clawgate state migrate`: every state record copied between SQLite and PostgreSQL, read back
the same through the stores, the source unchanged, and a second run copying nothing."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.state import (
    TABLES,
    AttemptRecord,
    HealthMark,
    Pairing,
    ProbeRecord,
    State,
    StoredMessage,
    StoredResponse,
    TurnRecord,
    UsageRecord,
    open_postgres,
    usage_report,
)

T0 = 1_900_000_000.0


def fill(state: State) -> None:
    """One of every kind of record, some twice, a NUL and a 64-bit id among them."""
    for n in range(3):
        turn = f"t{n}"
        state.sessions.append(
            "s",
            turn,
            [StoredMessage("user", f"q{n}", "{}"), StoredMessage("assistant", "a")],
            now=n,
        )
        state.decisions.record(
            TurnRecord(
                turn,
                "s",
                "up/m",
                T0 + n // 2,
                T0 + 1,
                "succeeded",
                "up/m",
                "up:a",
                attempts=(AttemptRecord("up/m", "up:a", "succeeded", end_ms=1.5),),
                client_key="ci" if n else None,
            )
        )
        state.usage.add(UsageRecord(turn, "up", "m", "up:a", "metered", 10, 2, T0 + n, None))
    state.usage.add(UsageRecord("t0", "up", "m", "up:a", "metered", 10, 2, T0, None))  # twice
    state.health.put(HealthMark("k", "cooldown", "up:a", "up/m", 2**40, T0, 1, 5.0, "rl", T0))
    state.probes.add(ProbeRecord("up:a", T0, "process", 9, True, None, {"ok": True}))
    state.responses.add(
        StoredResponse("resp_1", T0, "up/m", "completed", None, [], [{"x": "\x00"}], None, {})
    )
    state.telegram.allow(-1_002_000_000_123, "team", now=T0)
    state.telegram.add_code(Pairing("CODE2222", 42, 42, None, T0, T0 + 60, None))
    state.telegram.receive([(2**33, "{}")], now=T0)
    state.telegram.pin("5", "up/m")
    state.telegram.tell("up:a", "vault:1", now=T0)


def snapshot(state: State) -> dict[str, object]:
    """What the stores read back."""
    return {
        "history": state.sessions.history("s"),
        "turns": state.decisions.last(10),
        "last_tried": state.decisions.last_tried(),
        "usage": sorted(state.usage.for_turn("t0"), key=repr),
        "report": usage_report(state.conn, 0, "model", {}).to_json(),
        "health": state.health.all(),
        "probes": state.probes.latest(),
        "chain": state.responses.chain("resp_1"),
        "telegram": (
            state.telegram.everyone(),
            state.telegram.pending_codes(T0),
            state.telegram.offset(),
            state.telegram.chat("5"),
            state.telegram.told(),
        ),
    }


def counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        return {
            t.name: conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0]  # noqa: S608
            for t in TABLES
        }


def migrate(state_dir: Path, url: str, to: str) -> dict[str, object]:
    env = {"CLAWGATE_STATE_DIR": str(state_dir), "CLAWGATE_DATABASE_URL": url}
    result = CliRunner().invoke(cli, ["state", "migrate", "--to", to, "--json"], obj=App(env))
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)
    return document


def copied(document: dict[str, object]) -> int:
    return sum(t["copied"] for t in document["tables"])  # type: ignore[attr-defined,misc]


def test_every_table_is_copied(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State.open(path).close()
    with closing(sqlite3.connect(path)) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != "migrations"
        }
    assert {t.name for t in TABLES} == tables


def test_to_postgres_and_back_reads_the_same_and_twice_copies_nothing(
    tmp_path: Path, database_url: str
) -> None:
    here = tmp_path / "here"
    source = State.open(here / "state.db")
    fill(source)
    before = snapshot(source)
    source.close()
    rows = counts(here / "state.db")

    first = migrate(here, database_url, "postgres")
    assert copied(first) == sum(rows.values())
    assert copied(migrate(here, database_url, "postgres")) == 0  # safe to run twice
    assert counts(here / "state.db") == rows  # the source is unchanged

    on_postgres = State(open_postgres(database_url))
    try:
        after = snapshot(on_postgres)
        on_postgres.telegram.receive([(2**33 + 1, "{}")], now=T0)  # still writable
    finally:
        on_postgres.close()
    nul = StoredResponse("resp_1", T0, "up/m", "completed", None, [], [{"x": "\x00"}], None, {})
    assert after["chain"] == [nul]  # JSON keeps the NUL escaped
    assert after == before

    back = tmp_path / "back"
    migrate(back, database_url, "sqlite")
    returned = State.open(back / "state.db")
    try:
        assert {**snapshot(returned), "telegram": None} == {**before, "telegram": None}
        assert returned.telegram.offset() == 2**33 + 2  # with the row added on PostgreSQL
    finally:
        returned.close()
    assert copied(migrate(back, database_url, "sqlite")) == 0


def test_without_a_database_url_it_says_where_it_goes(tmp_path: Path) -> None:
    env = {"CLAWGATE_STATE_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["state", "migrate", "--to", "postgres"], obj=App(env))
    assert result.exit_code != 0
    assert "CLAWGATE_DATABASE_URL is not set" in result.output
    assert "Traceback" not in result.output

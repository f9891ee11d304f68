"""Every store on both backends (SQLite's ``state.db`` and PostgreSQL, tests/state/backends.py):
what is written reads back the same, and what another process opens is what was written."""

from __future__ import annotations

import pytest

from clawgate.state import (
    MIGRATIONS,
    PG_MIGRATIONS,
    AttemptRecord,
    HealthMark,
    Price,
    ProbeRecord,
    State,
    StoredMessage,
    TurnRecord,
    UsageRecord,
    usage_report,
)
from tests.state.backends import Backend

DAY = 86400.0
T0 = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC


def turn(turn_id: str, at: float, **fields: object) -> TurnRecord:
    base: dict[str, object] = {
        "turn_id": turn_id,
        "session_key": "s",
        "requested": "up/m",
        "started_at": at,
        "ended_at": at + 1,
        "outcome": "succeeded",
        "model": "up/m",
        "profile": "up:a",
        "client_key": None,
    }
    base.update(fields)
    return TurnRecord(**base)  # type: ignore[arg-type]


def usage(turn_id: str, at: float, **fields: object) -> UsageRecord:
    base: dict[str, object] = {
        "turn_id": turn_id,
        "provider": "up",
        "model": "m",
        "profile": "up:a",
        "billing": "metered",
        "input_tokens": 100,
        "output_tokens": 10,
        "at": at,
        "client_key": None,
    }
    base.update(fields)
    return UsageRecord(**base)  # type: ignore[arg-type]


def test_both_backends_have_the_same_migrations_in_the_same_order() -> None:
    assert [m.name for m in PG_MIGRATIONS] == [m.name for m in MIGRATIONS]


def test_opening_again_migrates_nothing_and_keeps_the_records(backend: Backend) -> None:
    first = backend.open()
    first.sessions.append("s", "t1", [StoredMessage("user", "kept", '{"x": 1}')], now=T0)
    first.close()
    again = backend.open()
    assert again.sessions.history("s") == [StoredMessage("user", "kept", '{"x": 1}')]
    names = [r[0] for r in again.conn.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS]
    assert again.backend == backend.name


def test_sessions_keep_messages_in_order_per_key(state_backend: State) -> None:
    sessions = state_backend.sessions
    sessions.append("a", "t1", [StoredMessage("user", "1"), StoredMessage("assistant", "2")], now=1)
    sessions.append("b", "t2", [StoredMessage("user", "other")], now=2)
    sessions.append("a", "t3", [StoredMessage("user", "3", '{"role": "user"}')], now=3)
    assert [m.content for m in sessions.history("a")] == ["1", "2", "3"]
    assert sessions.history("a")[2].body == '{"role": "user"}'
    assert sessions.history("none") == []


def test_a_nul_in_text_is_stored_and_the_json_body_keeps_it(state_backend: State) -> None:
    # PostgreSQL's text cannot hold NUL; the body (JSON) escapes it, so replay is exact.
    state_backend.sessions.append(
        "n", "t", [StoredMessage("user", "a\x00b", '{"content": "a\\u0000b"}')], now=1
    )
    (kept,) = state_backend.sessions.history("n")
    assert kept.content in ("a\x00b", "a\ufffdb")
    assert kept.body == '{"content": "a\\u0000b"}'


def test_decisions_read_back_whole_newest_last(state_backend: State) -> None:
    decisions = state_backend.decisions
    attempts = (
        AttemptRecord("up/m", "up:a", "failed", "rate_limit", 429, "rl", "slow", 5.0, 9.5, "up/n"),
        AttemptRecord("up/n", "up:b", "succeeded", first_token_ms=1.5, end_ms=3.0),
    )
    decisions.record(turn("t1", T0, attempts=attempts, fallback=True, client_key="ci"))
    decisions.record(turn("t2", T0 + 1, outcome="failed", failure="timeout"))
    decisions.record(turn("t3", T0 + 1))  # the same start: the later record is the newer
    got = decisions.get("t1")
    assert got == turn("t1", T0, attempts=attempts, fallback=True, client_key="ci")
    assert decisions.get("missing") is None
    assert [t.turn_id for t in decisions.last(2)] == ["t2", "t3"]
    assert [t.turn_id for t in decisions.last(10)] == ["t1", "t2", "t3"]


def test_last_tried_is_each_profiles_newest_attempt_skips_not_counted(
    state_backend: State,
) -> None:
    decisions = state_backend.decisions
    decisions.record(turn("t1", T0, attempts=(AttemptRecord("up/m", "up:a", "succeeded"),)))
    decisions.record(
        turn(
            "t2",
            T0 + 5,
            attempts=(
                AttemptRecord("up/m", "up:a", "failed", "timeout"),
                AttemptRecord("up/m", "up:b", "skip_cooldown"),
                AttemptRecord("up/m", "up:a", "client_gone"),
            ),
        )
    )
    assert decisions.last_tried() == {"up:a": (T0 + 5, "client_gone")}


def test_long_and_unencodable_text_is_bounded(state_backend: State) -> None:
    state_backend.decisions.record(turn("t", T0, requested="x" * 5000, failure="bad\udcffend"))
    got = state_backend.decisions.get("t")
    assert got is not None
    assert got.requested is not None
    assert len(got.requested) == 512
    assert got.requested.endswith("…")
    assert got.failure == "bad?end"


def test_health_marks_are_replaced_by_key_and_deleted(state_backend: State) -> None:
    health = state_backend.health
    mark = HealthMark(
        "cooldown|up:a|up/m", "cooldown", "up:a", "up/m", 2**40, T0, 1, 60.0, "rl", T0
    )
    health.put(mark)
    health.put(HealthMark("block|up:b|", "block", "up:b", None, None, T0 + 9, 0, 0.0, "dead", T0))
    newer = HealthMark(mark.key, "cooldown", "up:a", "up/m", 2**40 + 1, T0 + 5, 2, 120.0, "x", T0)
    health.put(newer)
    assert sorted(health.all(), key=lambda m: m.key) == [
        HealthMark("block|up:b|", "block", "up:b", None, None, T0 + 9, 0, 0.0, "dead", T0),
        newer,
    ]
    health.delete(mark.key)
    assert [m.key for m in health.all()] == ["block|up:b|"]


def test_usage_sums_by_profile_key_and_time(state_backend: State) -> None:
    store = state_backend.usage
    store.add(usage("t1", T0, cached_tokens=40, reasoning_tokens=3))
    store.add(usage("t2", T0 + 10, profile="up:b", model="n", input_tokens=None))
    store.add(usage("t3", T0 + 20, client_key="ci", input_tokens=7, output_tokens=None))
    assert store.for_turn("t1") == [usage("t1", T0, cached_tokens=40, reasoning_tokens=3)]
    assert store.tokens_since(T0 + 5) == {"up:b": 10, "up:a": 7}
    assert store.key_tokens_since("ci", T0) == 7
    assert store.key_tokens_since("ci", T0 + 21) == 0
    assert store.last_used() == {"up:a": T0 + 20, "up:b": T0 + 10}
    assert store.last_model("up:b") == "n"
    assert store.last_model("nobody") is None


@pytest.mark.parametrize("by", ["key", "profile", "model", "day"])
def test_the_usage_report_is_the_same_on_both_backends(state_backend: State, by: str) -> None:
    records = state_backend.decisions
    records.record(turn("t1", T0, client_key="ci"))
    records.record(turn("t2", T0 + DAY, fallback=True, model="up/n", profile="up:b"))
    records.record(turn("t3", T0 + DAY, outcome="failed", model=None, profile=None))
    records.record(turn("t0", T0 - 9 * DAY))  # before `since`
    state_backend.usage.add(usage("t1", T0 + 1, client_key="ci", cached_tokens=50))
    state_backend.usage.add(usage("t2", T0 + DAY, model="n", profile="up:b"))
    prices = {"up/m": Price(2.0, 8.0, 1.0)}
    report = usage_report(state_backend.conn, T0 - DAY, by, prices)  # type: ignore[arg-type]
    groups = {row.group: row for row in report.rows}
    expected = {
        "key": {"ci": 1, "(none)": 2},
        "profile": {"up:a": 1, "up:b": 1, "(none)": 1},
        "model": {"up/m": 2, "up/n": 1},
        "day": {"2030-03-17": 1, "2030-03-18": 2},
    }[by]
    assert {g: r.requests for g, r in groups.items()} == expected
    total = report.total
    assert (total.requests, total.failures, total.fallbacks) == (3, 1, 1)
    assert (total.input_tokens, total.output_tokens, total.cached_tokens) == (200, 20, 50)
    assert (total.metered_turns, total.unpriced_turns) == (2, 1)
    assert total.estimated_cost == pytest.approx((50 * 2.0 + 50 * 1.0 + 10 * 8.0) / 1e6)


def test_probes_keep_each_profiles_newest(state_backend: State) -> None:
    probes = state_backend.probes
    old = ProbeRecord("up:a", T0, "process", 2**31 + 5, False, "timeout", {"n": 1})
    new = ProbeRecord("up:a", T0 + 1, "gateway", 7, True, None, {"n": 2, "nested": [1]})
    other = ProbeRecord("up:b", T0 - 1, "gateway", 7, True, None, {})
    for record in (old, new, other):
        probes.add(record)
    assert probes.latest() == {"up:a": new, "up:b": other}


def test_telegram_ids_beyond_32_bits_are_kept(state_backend: State) -> None:
    group = -1_002_000_000_123  # a supergroup's chat id
    store = state_backend.telegram
    store.allow(group, "team", now=1.0)
    assert store.access(group) is not None
    assert store.receive([(2**33, "{}")], now=1.0) == [2**33]
    assert store.offset() == 2**33 + 1


def test_chat_tokens_match_the_session_prefix_literally(state_backend: State) -> None:
    # LIKE with its wildcards escaped: "tg:1_" must not match "tg:12…".
    for turn_id, session in (("a", "tg:1_:1"), ("b", "tg:12:1"), ("c", "tg:1_:2")):
        state_backend.decisions.record(turn(turn_id, T0, session_key=session))
        state_backend.usage.add(usage(turn_id, T0, input_tokens=5, output_tokens=1))
    assert state_backend.telegram.chat_tokens("tg:1_") == (2, 10, 2)
    assert state_backend.telegram.chat_tokens("tg:1%") == (0, 0, 0)

"""`Health` on its own, on the injected clock and a real ``state.db``: the exact length of each
cooldown and block, the caps of every backoff, the circuit's windows, what a success clears,
what a newer generation (a new login or key) clears, what `active` reports, and that every
mark and every removal reaches the database. (The same rules end to end, through turns, are
in test_failover.py and test_policy_and_health.py.)"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from clawgate.clock import ManualClock
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.routing import TABLE, Blocked, Candidate, Health
from clawgate.state import HealthMark, State
from tests.state.backends import Backend, backend  # noqa: F401  (the fixture)

NOW = 1_900_000_000.0
HOUR = 3600.0
GEN = 3  # the profile's material generation when the marks are made

ME = Candidate("sub", "m", "sub:me", "subscription")
ME_OTHER_MODEL = Candidate("sub", "other", "sub:me", "subscription")
ALT = Candidate("sub", "m", "sub:alt", "subscription")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
def db(backend: Backend) -> Backend:  # noqa: F811  (the fixture imported above)
    """SQLite's state.db and PostgreSQL in turn (tests/state/backends.py)."""
    return backend


@pytest.fixture
def state(db: Backend) -> State:
    return db.open()


@pytest.fixture
def health(state: State, clock: ManualClock) -> Health:
    return Health(state.health, clock)


def fail(
    health: Health,
    kind: F,
    c: Candidate = ME,
    *,
    generation: int | None = GEN,
    retry_after: float | None = None,
    resets_at: float | None = None,
) -> None:
    failure = Failure(
        kind, f"{kind.value} for the test", retry_after=retry_after, resets_at=resets_at
    )
    health.failed(c, failure, TABLE[kind], generation)


@contextlib.contextmanager
def reopened(db: Backend) -> Iterator[State]:
    """The database as a new process (or another replica) opens it."""
    fresh = db.open()
    try:
        yield fresh
    finally:
        fresh.close()


def rows(db: Backend) -> dict[str, HealthMark]:
    """What a new process would read from the database."""
    with reopened(db) as fresh:
        return {m.key: m for m in fresh.health.all()}


def blocked_for(health: Health, clock: ManualClock, c: Candidate = ME) -> float:
    """Seconds from now until ``c`` may be tried again."""
    verdict = health.check(c, GEN)
    assert verdict is not None
    return verdict.until - clock.now()


def waits_in_a_row(health: Health, clock: ManualClock, kind: F, times: int) -> list[float]:
    """How long each of ``times`` failures of ``kind`` blocks ``ME``, each failure made as soon
    as the wait before it is over."""
    waits: list[float] = []
    for _ in range(times):
        fail(health, kind)
        waits.append(blocked_for(health, clock))
        clock.advance(waits[-1])
    return waits


# -- cooldowns ---------------------------------------------------------------------------------


def test_nothing_recorded_means_nothing_blocks(health: Health) -> None:
    assert health.check(ME, GEN) is None
    assert health.circuit(ME) == "closed"
    assert health.active("sub:me", GEN) == []


def test_a_rate_limit_with_retry_after_cools_down_exactly_that_long(
    health: Health, clock: ManualClock
) -> None:
    fail(health, F.RATE_LIMIT, retry_after=42)
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "rate_limit", NOW + 42)
    clock.advance(41.9)
    assert health.check(ME, GEN) is not None
    clock.advance(0.1)  # until is exclusive
    assert health.check(ME, GEN) is None


def test_rate_limit_backoff_without_retry_after_is_capped_at_five_minutes(
    health: Health, clock: ManualClock
) -> None:
    assert waits_in_a_row(health, clock, F.RATE_LIMIT, 5) == [30, 60, 300, 300, 300]


def test_a_success_resets_the_rate_limit_backoff(health: Health, clock: ManualClock) -> None:
    fail(health, F.RATE_LIMIT)
    fail(health, F.RATE_LIMIT)
    assert blocked_for(health, clock) == 60
    health.succeeded(ME)
    assert health.check(ME, GEN) is None
    fail(health, F.RATE_LIMIT)
    assert blocked_for(health, clock) == 30


def test_a_cooldown_is_per_profile_and_model(health: Health) -> None:
    fail(health, F.RATE_LIMIT, retry_after=120)
    assert health.check(ME, GEN) is not None
    assert health.check(ME_OTHER_MODEL, GEN) is None
    assert health.check(ALT, GEN) is None


def test_a_transient_auth_failure_is_a_one_minute_cooldown_that_does_not_escalate(
    health: Health, clock: ManualClock
) -> None:
    fail(health, F.AUTH_TRANSIENT)
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "auth_transient", NOW + 60)
    clock.advance(60)
    fail(health, F.AUTH_TRANSIENT)
    assert blocked_for(health, clock) == 60


@pytest.mark.parametrize(
    "kind", [F.CONTEXT_OVERFLOW, F.CONTENT_FILTER, F.BAD_REQUEST, F.MODEL_NOT_FOUND]
)
def test_failures_that_say_nothing_about_the_candidate_leave_no_mark(
    health: Health, db: Backend, kind: F
) -> None:
    fail(health, kind)
    assert health.check(ME, GEN) is None
    assert health.marks == {}
    assert rows(db) == {}


# -- blocks ------------------------------------------------------------------------------------


def test_quota_blocks_the_whole_profile_until_the_reported_reset(health: Health) -> None:
    fail(health, F.QUOTA, resets_at=NOW + 5 * HOUR, retry_after=10)
    expected = Blocked("skip_cooldown", "quota", NOW + 5 * HOUR)
    assert health.check(ME, GEN) == expected  # resets_at wins over retry_after
    assert health.check(ME_OTHER_MODEL, GEN) == expected
    assert health.check(ALT, GEN) is None


def test_quota_with_a_reset_in_the_past_falls_back_to_retry_after(
    health: Health, clock: ManualClock
) -> None:
    fail(health, F.QUOTA, resets_at=NOW - 1, retry_after=90)
    assert blocked_for(health, clock) == 90


def test_quota_without_any_reset_blocks_for_an_hour(health: Health, clock: ManualClock) -> None:
    fail(health, F.QUOTA)
    assert blocked_for(health, clock) == HOUR


def test_billing_blocks_five_hours_then_a_day_and_no_longer(
    health: Health, clock: ManualClock
) -> None:
    assert waits_in_a_row(health, clock, F.BILLING, 3) == [5 * HOUR, 24 * HOUR, 24 * HOUR]


def test_entitlement_blocks_only_that_model_on_that_profile_for_a_day(
    health: Health, clock: ManualClock
) -> None:
    fail(health, F.ENTITLEMENT)
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "entitlement", NOW + 24 * HOUR)
    assert health.check(ME_OTHER_MODEL, GEN) is None
    assert health.check(ALT, GEN) is None


def test_a_success_clears_cooldowns_and_circuits_but_not_blocks(health: Health) -> None:
    fail(health, F.ENTITLEMENT)
    fail(health, F.RATE_LIMIT, retry_after=600)
    health.succeeded(ME)
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "entitlement", NOW + 24 * HOUR)


# -- needs login, and generations ---------------------------------------------------------------


def test_a_dead_login_blocks_the_profile_until_the_material_changes(
    health: Health, clock: ManualClock
) -> None:
    fail(health, F.AUTH_DEAD)
    verdict = health.check(ME, GEN)
    assert verdict is not None
    assert (verdict.decision, verdict.reason) == ("skip_needs_login", "auth_dead")
    assert health.check(ME_OTHER_MODEL, GEN) == verdict
    clock.advance(365 * 24 * HOUR)  # time alone never clears it
    assert health.check(ME, GEN) == verdict
    assert health.check(ME, GEN + 1) is None  # a new login does


def test_needs_login_is_reported_before_a_cooldown_on_the_same_candidate(
    health: Health,
) -> None:
    fail(health, F.RATE_LIMIT, retry_after=600)
    fail(health, F.AUTH_DEAD)
    verdict = health.check(ME, GEN)
    assert verdict is not None
    assert verdict.decision == "skip_needs_login"


def test_a_newer_generation_clears_every_mark_of_the_profile_from_memory_and_disk(
    health: Health, db: Backend
) -> None:
    fail(health, F.RATE_LIMIT, retry_after=600)
    fail(health, F.ENTITLEMENT)
    fail(health, F.BILLING)
    for _ in range(3):
        fail(health, F.SERVER_ERROR)
    assert health.circuit(ME) == "open"
    assert len(rows(db)) == 4

    assert health.check(ME, GEN + 1) is None
    assert health.marks == {}
    assert rows(db) == {}


def test_the_same_or_an_older_generation_keeps_the_marks(health: Health, db: Backend) -> None:
    fail(health, F.RATE_LIMIT, retry_after=600)
    assert health.check(ME, GEN) is not None
    assert health.check(ME, GEN - 1) is not None  # an older read cannot clear a newer mark
    assert len(rows(db)) == 1


def test_a_newer_generation_on_one_profile_leaves_the_others_marks(health: Health) -> None:
    fail(health, F.RATE_LIMIT, ME, retry_after=600)
    fail(health, F.RATE_LIMIT, ALT, retry_after=600)
    assert health.check(ME, GEN + 1) is None
    assert health.check(ALT, GEN) is not None


# -- the circuit breaker ------------------------------------------------------------------------


def test_two_failures_leave_the_circuit_closed_and_the_candidate_usable(
    health: Health,
) -> None:
    fail(health, F.SERVER_ERROR)
    fail(health, F.NETWORK)
    assert health.circuit(ME) == "closed"
    assert health.check(ME, GEN) is None


def test_the_third_failure_opens_it_for_thirty_seconds_then_it_is_half_open(
    health: Health, clock: ManualClock
) -> None:
    for kind in (F.SERVER_ERROR, F.TIMEOUT, F.OVERLOADED):
        fail(health, kind)
    assert health.circuit(ME) == "open"
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "circuit_open", NOW + 30)
    assert health.circuit(ME_OTHER_MODEL) == "closed"  # per (profile, model)
    clock.advance(30)
    assert health.circuit(ME) == "half_open"
    assert health.check(ME, GEN) is None  # one probe may go


def test_each_failed_probe_doubles_the_window_up_to_five_minutes(
    health: Health, clock: ManualClock
) -> None:
    for _ in range(2):
        fail(health, F.SERVER_ERROR)
    windows = []
    for _ in range(7):
        fail(health, F.SERVER_ERROR)  # opens, then each failed half-open probe re-opens
        windows.append(blocked_for(health, clock))
        clock.advance(windows[-1])
        assert health.circuit(ME) == "half_open"
    assert windows == [30, 60, 120, 240, 300, 300, 300]


def test_a_successful_probe_closes_it_and_the_next_opening_starts_at_thirty_again(
    health: Health, clock: ManualClock
) -> None:
    for _ in range(4):
        fail(health, F.SERVER_ERROR)
        clock.advance(60)
    health.succeeded(ME)
    assert health.circuit(ME) == "closed"
    fail(health, F.SERVER_ERROR)
    fail(health, F.SERVER_ERROR)
    assert health.circuit(ME) == "closed"  # the count started again too
    fail(health, F.SERVER_ERROR)
    assert blocked_for(health, clock) == 30


# -- what is stored, and what status reads --------------------------------------------------------


def test_each_mark_is_a_row_with_what_made_it(
    health: Health, db: Backend, clock: ManualClock
) -> None:
    fail(health, F.RATE_LIMIT, retry_after=42)
    clock.advance(5)
    fail(health, F.BILLING)
    stored = rows(db)
    assert stored["cooldown|sub:me|sub/m"] == HealthMark(
        key="cooldown|sub:me|sub/m",
        kind="cooldown",
        profile="sub:me",
        model="sub/m",
        generation=GEN,
        until=NOW + 42,
        failures=1,
        window=0.0,
        reason="rate_limit",
        updated_at=NOW,
    )
    block = stored["block|sub:me"]
    assert (block.kind, block.model, block.reason, block.until) == (
        "block",
        None,  # the whole profile
        "billing",
        NOW + 5 + 5 * HOUR,
    )
    assert block.updated_at == NOW + 5


def test_a_success_deletes_the_rows_it_clears(health: Health, db: Backend) -> None:
    fail(health, F.RATE_LIMIT, retry_after=42)
    fail(health, F.SERVER_ERROR)
    assert set(rows(db)) == {"cooldown|sub:me|sub/m", "circuit|sub:me|sub/m"}
    health.succeeded(ME)
    assert rows(db) == {}


def test_a_new_process_reads_the_marks_back(
    health: Health, db: Backend, clock: ManualClock
) -> None:
    fail(health, F.RATE_LIMIT, retry_after=600)
    fail(health, F.AUTH_DEAD, ALT)

    with reopened(db) as restarted:
        later = Health(restarted.health, clock)
        assert later.check(ME, GEN) == Blocked("skip_cooldown", "rate_limit", NOW + 600)
        verdict = later.check(ALT, GEN)
        assert verdict is not None
        assert verdict.decision == "skip_needs_login"


def test_the_circuit_window_survives_a_restart(
    health: Health, db: Backend, clock: ManualClock
) -> None:
    for _ in range(3):
        fail(health, F.SERVER_ERROR)
    clock.advance(30)

    with reopened(db) as restarted:
        later = Health(restarted.health, clock)
        assert later.circuit(ME) == "half_open"
        fail(later, F.SERVER_ERROR)  # the probe fails: twice the remembered window
        assert blocked_for(later, clock) == 60


def test_without_a_store_health_lives_in_memory_only(clock: ManualClock) -> None:
    health = Health(None, clock)
    fail(health, F.RATE_LIMIT, retry_after=5)
    assert health.check(ME, GEN) == Blocked("skip_cooldown", "rate_limit", NOW + 5)
    health.succeeded(ME)
    assert health.check(ME, GEN) is None


def test_active_lists_what_would_skip_the_profile_now(health: Health, clock: ManualClock) -> None:
    fail(health, F.RATE_LIMIT, retry_after=600)
    fail(health, F.ENTITLEMENT, ME_OTHER_MODEL)
    fail(health, F.RATE_LIMIT, ALT, retry_after=600)
    assert {m.key for m in health.active("sub:me", GEN)} == {
        "cooldown|sub:me|sub/m",
        "block|sub:me|sub/other",
    }
    clock.advance(600)
    assert [m.key for m in health.active("sub:me", GEN)] == ["block|sub:me|sub/other"]


def test_active_shows_a_circuit_only_while_it_is_open(health: Health, clock: ManualClock) -> None:
    fail(health, F.SERVER_ERROR)
    fail(health, F.SERVER_ERROR)
    assert health.active("sub:me", GEN) == []  # counting, but closed
    fail(health, F.SERVER_ERROR)
    assert [m.reason for m in health.active("sub:me", GEN)] == ["server_error"]
    clock.advance(30)
    assert health.active("sub:me", GEN) == []  # half-open


def test_active_ignores_outdated_marks_without_removing_them(health: Health, db: Backend) -> None:
    fail(health, F.AUTH_DEAD)
    assert health.active("sub:me", GEN + 1) == []
    assert len(rows(db)) == 1  # read only: status never writes
    assert len(health.active("sub:me", GEN)) == 1

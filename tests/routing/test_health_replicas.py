"""`Health` of two processes on one store, each with its own connection (replicas on
PostgreSQL, gateway workers on one state.db): a mark one sets, and one it clears, count for
the other's next check, and failures met by both add up to one circuit. The same through three
real gateways is tests/gateway/test_replicas.py."""

from __future__ import annotations

from clawgate.clock import ManualClock
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.routing import TABLE, Blocked, Candidate, Health
from tests.state.backends import Backend, backend  # noqa: F401  (the fixture)

NOW = 1_900_000_000.0
GEN = 3
ME = Candidate("sub", "m", "sub:me", "subscription")


def fail(health: Health, kind: F) -> None:
    health.failed(ME, Failure(kind, f"{kind.value} for the test"), TABLE[kind], GEN)


def pair(db: Backend) -> tuple[Health, Health]:
    clock = ManualClock(start=NOW)
    return Health(db.open().health, clock), Health(db.open().health, clock)


def seen_by_next_turn(health: Health) -> Blocked | None:
    health.sync()  # what the router does before a turn's checks
    return health.check(ME, GEN)


def test_a_cooldown_set_by_one_replica_is_seen_by_the_other(backend: Backend) -> None:  # noqa: F811
    a, b = pair(backend)
    assert seen_by_next_turn(b) is None  # b has loaded the (empty) marks already
    fail(a, F.RATE_LIMIT)
    blocked = seen_by_next_turn(b)
    assert blocked is not None
    assert (blocked.decision, blocked.reason) == ("skip_cooldown", "rate_limit")
    # Cleared through the other replica: the first sees it gone.
    assert [m.key for m in b.reset(profile="sub:me", model=None)] == ["cooldown|sub:me|sub/m"]
    assert seen_by_next_turn(a) is None


def test_failures_met_by_two_replicas_open_one_circuit(backend: Backend) -> None:  # noqa: F811
    a, b = pair(backend)
    for health in (a, b, a):
        health.sync()
        fail(health, F.SERVER_ERROR)
    opened = {h: seen_by_next_turn(h) for h in (a, b)}
    assert all(v is not None and v.reason == "circuit_open" for v in opened.values())
    assert a.circuit(ME) == b.circuit(ME) == "open"


def test_a_process_reads_nothing_again_when_no_other_wrote(backend: Backend) -> None:  # noqa: F811
    """On SQLite the check is ``PRAGMA data_version``: its own writes do not count."""
    a, b = pair(backend)
    a.sync()
    fail(a, F.RATE_LIMIT)
    assert a.store is not None
    assert a.store.changed_elsewhere() is (backend.name == "postgres")
    fail(b, F.SERVER_ERROR)  # another process writes a mark a has not got
    assert a.store.changed_elsewhere() is True

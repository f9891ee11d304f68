"""docs/routing.md's failure table, row by row, as `rule_for` reads it."""

from __future__ import annotations

import pytest

from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.providers import Phase
from clawgate.routing import TABLE, rule_for

# class → (same candidate, next profile, next model, health effect), from docs/routing.md
ROWS = {
    F.RATE_LIMIT: ("retry_after", True, "yes", "cooldown"),
    F.QUOTA: ("no", True, "yes", "block_profile"),
    F.ENTITLEMENT: ("no", True, "yes", "block_model"),
    F.BILLING: ("no", True, "yes", "block_profile"),
    F.AUTH_DEAD: ("no", True, "yes", "needs_login"),
    F.AUTH_TRANSIENT: ("once", True, "yes", "short_cooldown"),
    F.OVERLOADED: ("once", True, "yes", "circuit"),
    F.SERVER_ERROR: ("once", True, "yes", "circuit"),
    F.NETWORK: ("once", True, "yes", "circuit"),
    F.CONTEXT_OVERFLOW: ("no", False, "larger_context", "none"),
    F.CONTENT_FILTER: ("no", False, "no", "none"),
    F.BAD_REQUEST: ("no", False, "no", "none"),
    F.MODEL_NOT_FOUND: ("no", False, "yes", "none"),
    F.STREAM_BROKEN: ("once", True, "yes", "circuit"),
}


@pytest.mark.parametrize("failure", sorted(ROWS))
def test_each_row(failure: F) -> None:
    rule = rule_for(Failure(failure, "x"), Phase.NOT_STARTED)
    assert (rule.same, rule.next_profile, rule.next_model, rule.effect) == ROWS[failure]


def test_every_class_has_a_row() -> None:
    assert set(TABLE) == set(F)


def test_a_connect_timeout_is_retried_once() -> None:
    rule = rule_for(Failure(F.TIMEOUT, "x", phase="connect"), Phase.NOT_STARTED)
    assert (rule.same, rule.effect) == ("once", "circuit")


@pytest.mark.parametrize("phase", ["first_token", "idle", "total"])
def test_a_silent_route_is_not_retried(phase: str) -> None:
    rule = rule_for(Failure(F.TIMEOUT, "x", phase=phase), Phase.NOT_STARTED)  # type: ignore[arg-type]
    assert (rule.same, rule.next_profile, rule.next_model) == ("no", True, "yes")


@pytest.mark.parametrize("failure", [F.STREAM_BROKEN, F.NETWORK, F.SERVER_ERROR])
def test_after_the_first_token_nothing_is_retried_in_place(failure: F) -> None:
    rule = rule_for(Failure(failure, "x"), Phase.STREAMING)
    assert rule.same == "no"
    assert rule.effect == "circuit"

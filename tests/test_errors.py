"""`clawgate.errors` and `clawgate.failures`: `Failed` carries one `Failure` unchanged through
every layer; each subclass adds only what its layer knows."""

from __future__ import annotations

import dataclasses

import pytest

from clawgate.auth import CredentialError
from clawgate.auth.oauth import OAuthError, TokenError
from clawgate.errors import ClawgateError, Failed
from clawgate.failures import Failure, FailureClass
from clawgate.routing import RouteFailed
from clawgate.runtime import TurnFailed
from clawgate.state import AttemptRecord

F = FailureClass

FULL = Failure(
    F.RATE_LIMIT,
    "slow down",
    fix="wait a minute",
    status=429,
    code="rate_limit_exceeded",
    retry_after=12.0,
    resets_at=1_900_000_060.0,
    phase=None,
    request_id="req_123",
)
ATTEMPTS = (
    AttemptRecord("a/m", "a:1", "failed", reason="rate_limit", next="b/m"),
    AttemptRecord("b/m", "b:1", "failed", reason="server_error"),
)


# -- Failure ----------------------------------------------------------------------------------


def test_a_failure_is_a_frozen_value() -> None:
    assert Failure(F.QUOTA, "used up") == Failure(F.QUOTA, "used up")
    with pytest.raises(dataclasses.FrozenInstanceError):
        FULL.message = "changed"  # type: ignore[misc]
    bare = Failure(F.NETWORK, "down")
    assert (bare.fix, bare.status, bare.code, bare.retry_after) == (None, None, None, None)
    assert (bare.resets_at, bare.phase, bare.request_id) == (None, None, None)


def test_failure_classes_are_their_wire_values() -> None:
    assert all(kind == kind.value for kind in F)
    assert F("context_overflow") is F.CONTEXT_OVERFLOW
    assert len({kind.value for kind in F}) == len(F)


# -- Failed -----------------------------------------------------------------------------------


def test_failed_carries_its_failure_unchanged() -> None:
    exc = Failed(FULL)
    assert exc.failure is FULL
    assert isinstance(exc, ClawgateError)
    assert (exc.code, exc.message, exc.fix) == ("rate_limit", "slow down", "wait a minute")


@pytest.mark.parametrize("kind", list(F))
def test_code_is_the_class_and_only_bad_request_is_a_usage_error(kind: FailureClass) -> None:
    exc = Failed(Failure(kind, "x"))
    assert exc.code == kind.value
    assert exc.exit_code == (2 if kind is F.BAD_REQUEST else 1)


def test_a_message_override_changes_what_people_see_not_the_failure() -> None:
    exc = Failed(FULL, message="sub:me: slow down")
    assert exc.message == "sub:me: slow down"
    assert str(exc).startswith("sub:me: slow down\n")
    assert exc.failure is FULL
    assert exc.failure.message == "slow down"


def test_str_is_the_message_then_the_fix() -> None:
    assert str(Failed(Failure(F.NETWORK, "unreachable"))) == "unreachable"
    assert str(Failed(FULL)) == "slow down\n  fix: wait a minute"


def test_repr_shows_the_class_the_message_and_the_status_only() -> None:
    text = repr(Failed(FULL))
    assert text == "Failed(rate_limit, 'slow down', status=429)"
    for detail in ("wait a minute", "rate_limit_exceeded", "req_123", "12.0", "1900000060"):
        assert detail not in text


def test_the_clawgate_error_root() -> None:
    exc = ClawgateError("bad thing", fix="do this")
    assert (exc.code, exc.exit_code) == ("error", 1)
    assert str(exc) == "bad thing\n  fix: do this"
    assert str(ClawgateError("bad thing")) == "bad thing"


# -- what each layer adds ---------------------------------------------------------------------


def test_a_credential_error_adds_the_profile() -> None:
    exc = CredentialError("sub:me", FULL)
    assert exc.failure is FULL
    assert exc.profile_id == "sub:me"
    assert exc.message == "sub:me: slow down"
    assert (exc.code, exc.fix, exc.exit_code) == ("rate_limit", "wait a minute", 1)
    assert repr(exc) == "CredentialError(rate_limit, 'sub:me: slow down', status=429)"


def test_a_route_failure_adds_the_attempts_and_whether_text_was_sent() -> None:
    exc = RouteFailed(FULL, attempts=ATTEMPTS, partial=True)
    assert exc.failure is FULL
    assert exc.attempts is ATTEMPTS
    assert exc.partial is True
    assert (exc.message, exc.code) == ("slow down", "rate_limit")
    assert RouteFailed(FULL, attempts=()).partial is False


@pytest.mark.parametrize("partial", [True, False])
def test_a_turn_failure_adds_the_turn_id_and_keeps_the_rest(partial: bool) -> None:
    routed = RouteFailed(FULL, attempts=ATTEMPTS, partial=partial)
    exc = TurnFailed("turn-7", routed)
    assert isinstance(exc, RouteFailed)
    assert exc.turn_id == "turn-7"
    assert exc.failure is FULL
    assert exc.attempts is ATTEMPTS
    assert exc.partial is partial
    assert (exc.message, exc.fix, exc.code) == ("slow down", "wait a minute", "rate_limit")


def test_a_turn_failure_of_a_bad_request_is_still_a_usage_error() -> None:
    routed = RouteFailed(Failure(F.BAD_REQUEST, "no such option"), attempts=())
    assert TurnFailed("t", routed).exit_code == 2


def test_oauth_errors_carry_the_failure_unchanged() -> None:
    failure = Failure(F.AUTH_DEAD, "invalid_grant: revoked", code="invalid_grant", status=400)
    for exc in (OAuthError(failure), TokenError(failure)):
        assert isinstance(exc, Failed)
        assert exc.failure is failure
        assert (exc.code, exc.message) == ("auth_dead", "invalid_grant: revoked")
    assert TokenError(failure).reuse_suspected is True
    assert TokenError(Failure(F.AUTH_DEAD, "x", code="invalid_client")).reuse_suspected is False

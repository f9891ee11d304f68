"""Health keeps marks of its own only for the models the config names (`named_refs`): a
caller may name any ``provider/model``, and marks keyed by refs it chose would grow with each
new one, in memory and in ``state.db``. The profile's own marks (a dead login, a quota) are
kept whatever model met them; marks an older version kept for unnamed refs go at load."""

from __future__ import annotations

import random
import string

import pytest

from clawgate.clock import ManualClock
from clawgate.config import Settings
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.routing import TABLE, Candidate, Health, named_refs
from clawgate.state import State
from tests.state.backends import backend, state_backend  # noqa: F401  (fixtures)

NOW = 1_900_000_000.0
GEN = 1

SETTINGS = Settings.model_validate(
    {
        "agents": {
            "defaults": {
                "model": {"primary": "up/m", "fallbacks": ["fast"]},
                "models": {"alt/large": {"alias": "fast"}},
                "embeddings": {"primary": "up/e"},
            }
        },
        "models": {
            "providers": {
                "up": {"baseUrl": "http://127.0.0.1:1/v1", "models": [{"id": "listed"}]},
            }
        },
    }
)


@pytest.fixture
def state(state_backend: State) -> State:  # noqa: F811  (the fixture imported above)
    return state_backend  # SQLite and PostgreSQL in turn (tests/state/backends.py)


def health(state: State) -> Health:
    return Health(state.health, ManualClock(start=NOW), remembers=named_refs(SETTINGS).__contains__)


def fail(h: Health, c: Candidate, kind: F) -> None:
    h.failed(c, Failure(kind, f"{kind.value} for the test"), TABLE[kind], GEN)


def test_the_named_refs_are_the_chains_the_options_the_providers_models_and_defaults() -> None:
    named = named_refs(SETTINGS)
    assert {"up/m", "fast", "alt/large", "up/e", "up/listed"} <= named
    assert "openai/gpt-4.1-mini" not in named  # openai is neither configured nor in a chain
    with_openai = Settings.model_validate({"agents": {"defaults": {"model": "openai/gpt-4.1"}}})
    assert "openai/gpt-4.1-mini" in named_refs(with_openai)  # the catalog's default
    assert "up/anything" not in named


def test_refs_a_caller_chose_leave_no_marks_however_many(state: State) -> None:
    h = health(state)
    rng = random.Random(7)
    for _ in range(500):
        model = "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
        c = Candidate("up", model, "up:default")
        for kind in (F.SERVER_ERROR, F.RATE_LIMIT, F.ENTITLEMENT, F.AUTH_TRANSIENT):
            fail(h, c, kind)
        assert h.check(c, GEN) is None  # tried again next time
    assert h.marks == {}
    assert state.health.all() == []


def test_a_named_model_keeps_its_marks(state: State) -> None:
    h = health(state)
    c = Candidate("up", "m", "up:default")
    for _ in range(3):
        fail(h, c, F.SERVER_ERROR)
    assert h.circuit(c) == "open"
    assert [m.model for m in state.health.all()] == ["up/m"]


def test_an_unnamed_ref_still_marks_its_profile(state: State) -> None:
    h = health(state)
    fail(h, Candidate("up", "whatever", "up:default"), F.AUTH_DEAD)
    blocked = h.check(Candidate("up", "m", "up:default"), GEN)
    assert blocked is not None
    assert (blocked.decision, blocked.reason) == ("skip_needs_login", "auth_dead")


def test_marks_an_older_version_kept_for_unnamed_refs_go_at_load(state: State) -> None:
    everything = Health(state.health, ManualClock(start=NOW))  # remembers every ref
    for model in ("m", "chosen-by-a-caller"):
        for _ in range(3):
            fail(everything, Candidate("up", model, "up:default"), F.SERVER_ERROR)
    assert len(state.health.all()) == 2
    h = health(state)
    assert [m.model for m in h.marks.values()] == ["up/m"]
    assert [m.model for m in state.health.all()] == ["up/m"]

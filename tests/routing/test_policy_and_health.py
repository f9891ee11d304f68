"""The billing-kind policy, the circuit breaker over a flapping primary, health surviving a
restart, and the accounting of a turn answered by a fallback."""

from __future__ import annotations

import logging

import pytest

from clawgate.failures import FailureClass as F
from clawgate.runtime import TurnRequest
from clawgate.vault import ProfileStatus
from tests.fakes.model_api import OPENAI, chat_frames, stream
from tests.routing.conftest import HELLO, World, steps

pytestmark = pytest.mark.anyio

SUB, KEY, FREE = "sub/m", "key/m", "free/m"


def dead_subscription(world: World) -> None:
    status = ProfileStatus(state="needs_login", message="refresh_token_reused", fix="log in")
    world.vault.mark("sub:me", status)
    world.vault.mark("sub:alt", status)


# -- billing kind ----------------------------------------------------------------------------


async def test_a_dead_subscription_does_not_fall_through_to_a_key_under_same_kind(
    world: World,
) -> None:
    dead_subscription(world)
    world.start(**{"agents__defaults__model": {"primary": SUB, "fallbacks": [KEY]}})
    failed = await world.fails()
    assert steps(failed) == [
        (SUB, "sub:me", "skip_needs_login", "auth_dead"),
        (SUB, "sub:alt", "skip_needs_login", "auth_dead"),
        (SUB, "sub:key", "skip_policy", "policy_billing_kind"),
        (KEY, "key:default", "skip_policy", "policy_billing_kind"),
    ]
    assert failed.failure.kind is F.AUTH_DEAD
    assert world.api.seen == []  # not one paid request
    assert failed.fix == "log in"


async def test_under_any_it_falls_through_and_the_result_says_so(world: World) -> None:
    dead_subscription(world)
    world.start(
        **{
            "agents__defaults__model": {"primary": SUB, "fallbacks": [KEY]},
            "auth__fallthrough": "any",
        }
    )
    result = await world.turn()
    assert (result.model, result.profile, result.fallback) == (SUB, "sub:key", True)
    assert [s[2] for s in steps(result)] == ["skip_needs_login", "skip_needs_login", "succeeded"]


async def test_free_fallbacks_are_always_allowed(world: World) -> None:
    dead_subscription(world)
    world.start(**{"agents__defaults__model": {"primary": SUB, "fallbacks": [KEY, FREE]}})
    result = await world.turn()
    assert result.model == FREE
    assert steps(result)[3] == (KEY, "key:default", "skip_policy", "policy_billing_kind")


async def test_a_metered_primary_may_use_metered_fallbacks(world: World) -> None:
    world.start(**{"agents__defaults__model": {"primary": KEY, "fallbacks": [SUB]}})
    world.api.script(OPENAI["500"], OPENAI["500"], path="/key/")
    result = await world.turn()
    assert (result.model, result.profile) == (SUB, "sub:me")


async def test_fallthrough_none_never_rotates_profiles(world: World) -> None:
    world.start(**{"auth__fallthrough": "none"})
    world.api.script(OPENAI["503"], OPENAI["503"], path="/sub/")
    result = await world.turn()
    assert [(s[1], s[2]) for s in steps(result)] == [
        ("sub:me", "failed"),
        ("sub:me", "failed"),
        ("free:default", "succeeded"),
    ]


# -- the circuit breaker -----------------------------------------------------------------------


async def test_a_flapping_primary_opens_the_circuit_and_traffic_returns_when_it_heals(
    world: World,
) -> None:
    world.start(**{"auth__order__sub": ["sub:me"]})
    down = [OPENAI["502"]] * 3
    world.api.script(*down, path="/sub/")
    first = await world.turn()  # two failures (one retry), the fallback answers
    second = await world.turn()  # the third failure opens the circuit
    assert (first.model, second.model) == (FREE, FREE)
    runtime = world.runtime
    assert runtime is not None
    primary = runtime.plan(TurnRequest(HELLO)).candidates[0]
    assert runtime.health.circuit(primary) == "open"

    third = await world.turn()
    assert steps(third)[0] == (SUB, "sub:me", "skip_cooldown", "circuit_open")
    assert third.model == FREE

    world.clock.advance(31)  # the open window (30 s) has passed: half-open, one probe
    assert runtime.health.circuit(primary) == "half_open"
    healed = await world.turn()
    assert (healed.model, healed.fallback) == (SUB, False)
    assert runtime.health.circuit(primary) == "closed"
    assert (await world.turn()).model == SUB


async def test_a_failed_probe_reopens_the_circuit_for_twice_as_long(world: World) -> None:
    world.start(**{"auth__order__sub": ["sub:me"]})
    world.api.script(*[OPENAI["502"]] * 4, path="/sub/")
    await world.turn()
    await world.turn()  # open for 30 s
    world.clock.advance(31)
    probe = await world.turn()  # the probe fails: open again, now for 60 s
    assert steps(probe)[0] == (SUB, "sub:me", "failed", "server_error")
    world.clock.advance(59)
    assert steps(await world.turn())[0][2] == "skip_cooldown"
    world.clock.advance(2)
    assert (await world.turn()).model == SUB


async def test_health_survives_a_restart(world: World) -> None:
    world.start(**{"auth__order__sub": ["sub:me"]})
    world.api.script(*[OPENAI["502"]] * 3, path="/sub/")
    await world.turn()
    await world.turn()
    world.start(**{"auth__order__sub": ["sub:me"]})  # a new process on the same state.db
    result = await world.turn()
    assert steps(result)[0] == (SUB, "sub:me", "skip_cooldown", "circuit_open")


async def test_a_new_login_clears_the_profiles_health(world: World) -> None:
    from tests.routing.conftest import oauth

    world.api.script(OPENAI["forbidden"], path="/sub/")
    await world.turn()
    assert steps(await world.turn())[0][2] == "skip_cooldown"
    world.vault.save("sub:me", "sub", oauth())  # a new login stores new material
    world.start()
    assert (await world.turn()).profile == "sub:me"


# -- accounting --------------------------------------------------------------------------------


async def test_a_fallback_answer_is_accounted_to_the_fallback(world: World) -> None:
    world.api.script(*[OPENAI["503"]] * 6, path="/sub/")
    world.api.script(stream(chat_frames(model="free-model-v2", usage=(40, 7)).all()), path="/free/")
    result = await world.turn()
    assert (result.model, result.reported_model, result.fallback) == (FREE, "free-model-v2", True)
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (40, 7)
    state = world.state()
    record = state.decisions.get(result.turn_id)
    assert record is not None
    assert (record.outcome, record.model, record.profile, record.fallback) == (
        "succeeded",
        FREE,
        "free:default",
        True,
    )
    decisions = [a.decision for a in record.attempts]
    assert decisions.count("failed") == 4
    assert decisions.count("succeeded") == 1
    usage = state.usage.for_turn(result.turn_id)
    assert [(u.model, u.profile, u.input_tokens, u.output_tokens) for u in usage] == [
        ("m", "free:default", 40, 7)
    ]
    assert usage[0].billing == "free"


async def test_a_failed_turn_is_recorded_as_failed_with_no_usage(world: World) -> None:
    world.api.script(OPENAI["content_policy"], path="/sub/")
    failed = await world.fails()
    state = world.state()
    record = state.decisions.get(failed.turn_id)
    assert record is not None
    assert (record.outcome, record.failure, record.model) == ("failed", "content_filter", None)
    assert state.usage.for_turn(failed.turn_id) == []


async def test_each_decision_is_logged_in_the_documented_form(
    world: World, decisions: pytest.LogCaptureFixture
) -> None:
    world.api.script(OPENAI["model"], path="/sub/")
    await world.turn()
    lines = [r.getMessage() for r in decisions.records if r.name == "clawgate.routing"]
    assert lines[0] == (
        "decision=failed requested=default candidate=sub/m profile=sub:me "
        "reason=model_not_found next=sub/m"
    )
    assert lines[-1] == (
        "decision=succeeded requested=default candidate=free/m profile=free:default reason=- next=-"
    )
    assert all(r.levelno == logging.INFO for r in decisions.records if r.name == "clawgate.routing")

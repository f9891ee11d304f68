"""Every row of docs/routing.md's failure table, driven through real HTTP against the
fault-injecting upstream: what is retried, what rotates the profile, what moves to the next
model, what stops, and what health remembers (on the injected clock)."""

from __future__ import annotations

import pytest

from clawgate.failures import FailureClass as F
from clawgate.routing import Budget
from clawgate.runtime import TurnRequest
from tests.fakes.model_api import OPENAI, RESET, SILENT, chat_frames, error, stream
from tests.routing.conftest import HELLO, NOW, World, steps

pytestmark = pytest.mark.anyio

ME, ALT = "sub:me", "sub:alt"
SUB, FREE = "sub/m", "free/m"


def limited(retry_after: str | None = None) -> object:
    headers = {"retry_after": retry_after} if retry_after else {}
    return error(429, {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}, **headers)


# -- rate_limit ------------------------------------------------------------------------------


async def test_rate_limit_with_a_short_retry_after_waits_and_retries_the_same(
    world: World,
) -> None:
    world.api.script(limited("2"), path="/sub/")
    result = await world.turn()
    assert world.slept == [2.0]
    assert steps(result) == [
        (SUB, ME, "failed", "rate_limit"),
        (SUB, ME, "succeeded", None),
    ]
    assert result.fallback is False


async def test_rate_limit_with_a_long_retry_after_rotates_and_cools_the_profile_down(
    world: World,
) -> None:
    world.api.script(limited("120"), path="/sub/")
    result = await world.turn()
    assert world.slept == []
    assert result.profile == ALT
    assert result.fallback is True
    # The next turn skips the cooling profile until Retry-After has passed.
    result = await world.turn()
    assert steps(result)[0] == (SUB, ME, "skip_cooldown", "rate_limit")
    world.clock.advance(121)
    assert (await world.turn()).profile == ME


async def test_rate_limit_without_retry_after_backs_off_30_then_60_seconds(world: World) -> None:
    world.api.script(limited(), path="/sub/")
    await world.turn()
    world.clock.advance(29)
    assert (await world.turn()).profile == ALT
    world.clock.advance(2)
    world.api.script(limited(), path="/sub/")
    assert (await world.turn()).profile == ALT  # second in a row: 60 s
    world.clock.advance(59)
    assert (await world.turn()).profile == ALT
    world.clock.advance(2)
    assert (await world.turn()).profile == ME


# -- quota, entitlement, billing -------------------------------------------------------------


async def test_quota_blocks_the_profile_until_the_reported_reset(world: World) -> None:
    body = {"error": {"type": "usage_limit_reached", "resets_at": int(NOW + 7200)}}
    world.api.script(error(429, body), path="/sub/")
    result = await world.turn()
    assert steps(result)[0] == (SUB, ME, "failed", "quota")
    assert result.profile == ALT
    world.clock.advance(7199)
    assert steps(await world.turn())[0] == (SUB, ME, "skip_cooldown", "quota")
    world.clock.advance(2)
    assert (await world.turn()).profile == ME


async def test_entitlement_blocks_that_model_on_that_profile_for_a_day(world: World) -> None:
    world.api.script(OPENAI["forbidden"], path="/sub/")
    result = await world.turn()
    assert result.profile == ALT
    other = await world.turn(TurnRequest(HELLO, model="sub/other"))
    assert other.profile == ME  # only (profile, model) is blocked
    world.clock.advance(23 * 3600)
    assert steps(await world.turn())[0] == (SUB, ME, "skip_cooldown", "entitlement")
    world.clock.advance(3601)
    assert (await world.turn()).profile == ME


async def test_billing_blocks_the_profile_five_hours_then_a_day(world: World) -> None:
    world.start(**{"auth__fallthrough": "any"})
    world.api.script(error(402, {"error": {"code": "billing_error"}}), path="/key/")
    request = TurnRequest(HELLO, models=("key/m", FREE))
    assert (await world.turn(request)).model == FREE
    world.clock.advance(5 * 3600 + 1)
    world.api.script(error(402, {"error": {"code": "billing_error"}}), path="/key/")
    assert (await world.turn(request)).model == FREE
    world.clock.advance(23 * 3600)
    assert steps(await world.turn(request))[0] == (
        "key/m",
        "key:default",
        "skip_cooldown",
        "billing",
    )


# -- auth -------------------------------------------------------------------------------------


async def test_a_rejected_key_is_needs_login_until_a_new_key_is_stored(world: World) -> None:
    from clawgate.secret import Secret
    from clawgate.vault import ApiKeyMaterial

    world.start(**{"auth__fallthrough": "any"})
    world.api.script(OPENAI["unauthorized"], path="/key/")  # the broker answers the retry
    request = TurnRequest(HELLO, models=("key/m", FREE))
    result = await world.turn(request)
    assert steps(result)[0] == ("key/m", "key:default", "failed", "auth_dead")
    assert steps(await world.turn(request))[0][2:] == ("skip_needs_login", "auth_dead")
    world.vault.save("key:default", "key", ApiKeyMaterial(Secret("sk-new-key-0002")))
    assert (await world.turn(request)).model == "key/m"
    assert world.api.seen[-1].headers["authorization"] == "Bearer sk-new-key-0002"


async def test_a_transient_refresh_failure_retries_once_then_rotates(world: World) -> None:
    from tests.routing.conftest import oauth

    world.vault.save(ME, "sub", oauth(valid_for=-60))  # expired; its issuer is unreachable
    result = await world.turn()
    assert steps(result)[:2] == [
        (SUB, ME, "failed", "auth_transient"),
        (SUB, ME, "failed", "auth_transient"),
    ]
    assert result.profile == ALT
    assert steps(await world.turn())[0] == (SUB, ME, "skip_cooldown", "auth_transient")


# -- servers and networks ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "failure"), [("503", "overloaded"), ("500", "server_error")])
async def test_a_failing_server_is_retried_once_after_a_jittered_backoff(
    world: World, name: str, failure: str
) -> None:
    world.api.script(OPENAI[name], path="/sub/")
    result = await world.turn()
    assert steps(result) == [(SUB, ME, "failed", failure), (SUB, ME, "succeeded", None)]
    assert len(world.slept) == 1
    assert 0.5 <= world.slept[0] <= 1.0


async def test_twice_failing_moves_on_to_the_next_profile(world: World) -> None:
    world.api.script(OPENAI["502"], OPENAI["502"], path="/sub/")
    result = await world.turn()
    assert [s[2] for s in steps(result)] == ["failed", "failed", "succeeded"]
    assert result.profile == ALT


async def test_a_reset_connection_is_retried_at_once(world: World) -> None:
    world.api.script(RESET, path="/sub/")
    result = await world.turn()
    assert steps(result) == [(SUB, ME, "failed", "network"), (SUB, ME, "succeeded", None)]
    assert world.slept == []


async def test_a_silent_route_is_not_retried(world: World) -> None:
    world.api.script(SILENT, path="/sub/")
    result = await world.turn()
    assert steps(result)[:2] == [(SUB, ME, "failed", "timeout"), (SUB, ALT, "succeeded", None)]


async def test_a_stall_after_headers_without_a_token_is_a_silent_route(world: World) -> None:
    world.api.script(stream(chat_frames().first(0), then="stall"), path="/sub/")
    result = await world.turn()
    assert steps(result)[0] == (SUB, ME, "failed", "timeout")
    assert result.profile == ALT


async def test_a_stream_cut_before_the_first_token_is_retried_like_network(
    world: World,
) -> None:
    world.api.script(stream(chat_frames().first(0), then="cut"), path="/sub/")
    result = await world.turn()
    assert steps(result) == [(SUB, ME, "failed", "stream_broken"), (SUB, ME, "succeeded", None)]


# -- what stops and what moves to another model -------------------------------------------


async def test_context_overflow_moves_only_to_a_larger_context(world: World) -> None:
    world.api.script(OPENAI["context"], path="/small/")
    request = TurnRequest(HELLO, models=("small/m", "free/m", "big/m"))
    result = await world.turn(request)
    assert steps(result) == [
        ("small/m", "small:default", "failed", "context_overflow"),
        ("free/m", "free:default", "skip_policy", "context_overflow"),  # context unknown
        ("big/m", "big:default", "succeeded", None),
    ]


async def test_context_overflow_does_not_rotate_profiles(world: World) -> None:
    world.api.script(OPENAI["context"], path="/sub/")
    failed = await world.fails(TurnRequest(HELLO, model=SUB))
    assert failed.failure.kind is F.CONTEXT_OVERFLOW
    assert [s[2] for s in steps(failed)] == ["failed", "skip_policy", "skip_policy"]
    assert failed.fix is not None


async def test_content_filter_stops_with_the_providers_reason(world: World) -> None:
    world.api.script(OPENAI["content_policy"], path="/sub/")
    failed = await world.fails()
    assert failed.failure.kind is F.CONTENT_FILTER
    assert "rejected as a result of our safety system" in failed.message
    assert len(world.api.seen) == 1  # no other profile, no other model


async def test_bad_request_stops(world: World) -> None:
    world.api.script(error(400, {"error": {"type": "invalid_request_error"}}), path="/sub/")
    failed = await world.fails()
    assert failed.failure.kind is F.BAD_REQUEST
    assert len(world.api.seen) == 1


async def test_model_not_found_moves_to_the_next_model_not_the_next_profile(
    world: World,
) -> None:
    world.api.script(OPENAI["model"], path="/sub/")
    result = await world.turn()
    assert steps(result) == [
        (SUB, ME, "failed", "model_not_found"),
        (SUB, ALT, "skip_policy", "model_not_found"),
        (SUB, "sub:key", "skip_policy", "policy_billing_kind"),
        (FREE, "free:default", "succeeded", None),
    ]


# -- budgets and the half-open probe ---------------------------------------------------------


async def test_a_turn_makes_at_most_the_budgeted_attempts(world: World) -> None:
    world.start(budget=Budget(attempts=3))
    world.api.script(*[OPENAI["500"]] * 6, path="/sub/")
    world.api.script(*[OPENAI["500"]] * 6, path="/free/")
    failed = await world.fails()
    assert [s[2] for s in steps(failed)].count("failed") == 3
    assert len(world.api.seen) == 3


async def test_the_turn_time_budget_counts_the_waits(world: World) -> None:
    world.start(budget=Budget(seconds=1.5))
    world.api.script(limited("2"), limited("2"), path="/sub/")
    failed = await world.fails()
    # One wait of 2 s used the whole budget: nothing after the retry.
    assert len(world.api.seen) == 2
    assert failed.failure.kind is F.RATE_LIMIT


async def test_when_everything_cools_down_the_first_to_recover_is_tried(world: World) -> None:
    request = TurnRequest(HELLO, models=(SUB,))
    world.start(**{"auth__order__sub": [ME, ALT]})
    world.api.script(limited("300"), limited("100"), path="/sub/")
    await world.fails(request)
    result = await world.turn(request)
    assert steps(result) == [
        (SUB, ME, "skip_cooldown", "rate_limit"),
        (SUB, ALT, "succeeded", None),  # its cooldown ends first: probed, not skipped
    ]

"""Account pools (``auth.strategy``) with conversation affinity, the provider session id per
conversation, and quota-aware choice, through the fault-injecting fake: which profile each
turn lands on, and what reached the upstream."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest

from clawgate.providers import Options
from clawgate.runtime import TurnRequest
from clawgate.runtime._windows import WINDOWS_EVERY
from clawgate.vault import OAuthMaterial
from tests.fakes.model_api import CODEX, OPENAI, WHAM_USAGE, Reply, Seen
from tests.routing.conftest import DEAD_ISSUER, HELLO, NOW, World, oauth, steps

pytestmark = pytest.mark.anyio

SUB = "sub/m"
CODEX_REF = "openai-codex/gpt-5-codex"
POOL = ["sub:me", "sub:alt", "sub:key"]


def talk(who: str) -> TurnRequest:
    return TurnRequest(HELLO, options=Options(user=who))


def start(world: World, strategy: str, **more: Any) -> None:
    world.start(**{"auth__strategy": {"sub": strategy}, "auth__order__sub": POOL, **more})


async def test_ordered_is_the_default_every_turn_starts_on_the_first(world: World) -> None:
    world.start()
    served = [(await world.turn(talk(who))).profile for who in ("a", "b", "c")]
    assert served == ["sub:me"] * 3


async def test_round_robin_spreads_conversations_and_each_stays_on_its_profile(
    world: World,
) -> None:
    start(world, "round-robin")
    first = await asyncio.gather(world.turn(talk("ann")), world.turn(talk("bob")))
    ann, bob = (r.profile for r in first)
    assert {ann, bob} == {"sub:me", "sub:alt"}  # the metered key is not in the pool
    for _ in range(3):
        again = await asyncio.gather(world.turn(talk("bob")), world.turn(talk("ann")))
        assert [r.profile for r in again] == [bob, ann]
    # A header-named conversation (x-clawgate-session) sticks the same way.
    named = [
        (await world.turn(TurnRequest(HELLO, conversation="named:chat-7"))).profile
        for _ in range(3)
    ]
    assert len(set(named)) == 1


async def test_a_conversation_leaves_a_limited_profile_and_sticks_to_the_next(
    world: World,
) -> None:
    start(world, "round-robin")
    home = (await world.turn(talk("ann"))).profile
    assert home == "sub:me"
    world.api.script(OPENAI["rate_limit"], path="/sub/")  # sub:me is limited for 6 minutes
    moved = await world.turn(talk("ann"))
    assert steps(moved)[:2] == [
        (SUB, "sub:me", "failed", "rate_limit"),
        (SUB, "sub:alt", "succeeded", None),
    ]
    world.clock.advance(400)  # sub:me is well again; the conversation stays where it is now
    assert (await world.turn(talk("ann"))).profile == "sub:alt"


async def test_fill_first_moves_on_at_a_rate_limit_and_comes_back_after_it(
    world: World,
) -> None:
    start(world, "fill-first")
    assert [(await world.turn(talk(w))).profile for w in "ab"] == ["sub:me", "sub:me"]
    world.api.script(OPENAI["rate_limit"], path="/sub/")  # a cooldown of 6 minutes
    assert (await world.turn(talk("a"))).profile == "sub:alt"
    assert (await world.turn(talk("b"))).profile == "sub:alt"
    assert steps(await world.turn(talk("c")))[0] == (SUB, "sub:me", "skip_cooldown", "rate_limit")
    world.clock.advance(361)
    assert [(await world.turn(talk(w))).profile for w in "abc"] == ["sub:me"] * 3


async def test_least_used_without_windows_follows_the_recent_tokens(world: World) -> None:
    start(world, "least-used")
    first = await world.turn(talk("ann"))  # no tokens yet: the configured order
    assert first.profile == "sub:me"
    # A new conversation goes to the profile that answered fewer tokens lately.
    assert (await world.turn(talk("bob"))).profile == "sub:alt"
    assert (await world.turn(talk("ann"))).profile == "sub:me"  # ann stays


# -- the ChatGPT subscription: session ids and usage windows --------------------------------


def codex_world(world: World, strategy: str, accounts: dict[str, str]) -> None:
    for profile, account in accounts.items():
        material = oauth()
        world.vault.save(
            profile,
            "openai-codex",
            OAuthMaterial(
                access=material.access,
                refresh=material.refresh,
                expires_at=material.expires_at,
                account_id=account,
            ),
        )
    world.start(
        **{
            "auth__strategy": {"openai-codex": strategy},
            "auth__order__openai-codex": list(accounts),
            "agents__defaults__model": {"primary": CODEX_REF},
            "models__providers__openai-codex": {
                "baseUrl": f"{world.api.url}/backend-api",
                "oauth": {"issuer": DEAD_ISSUER},
                "timeouts": {"connect": 2, "firstToken": 2, "idle": 2, "total": 10},
            },
        }
    )


def usage(
    used: dict[str, int], reached: frozenset[str] = frozenset(), reset_at: float = 0
) -> Callable[[Seen], Reply | None]:
    """The fake's /wham/usage answer per account (the chatgpt-account-id header); other
    paths answer as scripted."""

    def answer(seen: Seen) -> Reply | None:
        if not seen.path.endswith("/wham/usage"):
            return None
        account = seen.headers.get("chatgpt-account-id", "")
        document = copy.deepcopy(WHAM_USAGE)
        limits = document["rate_limit"]
        limits["primary_window"]["used_percent"] = used[account]
        limits["limit_reached"] = account in reached
        if reset_at:
            limits["primary_window"]["reset_at"] = reset_at
        return Reply(body=document)

    return answer


async def test_the_codex_session_id_is_the_same_for_every_turn_of_a_conversation(
    world: World,
) -> None:
    codex_world(world, "round-robin", {"openai-codex:a": "acct-a", "openai-codex:b": "acct-b"})
    for who in ("ann", "bob", "ann", "bob", "ann"):
        await world.turn(talk(who))
    seen = world.api.paths("/backend-api/codex/responses")
    ids = [s.headers["session_id"] for s in seen]
    accounts = [s.headers["chatgpt-account-id"] for s in seen]
    assert ids[0] == ids[2] == ids[4]
    assert ids[1] == ids[3]
    assert ids[0] != ids[1]
    assert accounts[0] == accounts[2] == accounts[4] != accounts[1] == accounts[3]
    assert "ann" not in ids[0]  # derived from the conversation, not the caller's user itself
    # Turns of no named conversation each get their own.
    await world.turn()
    await world.turn()
    last_two = [s.headers["session_id"] for s in world.api.paths("/backend-api/codex/")][-2:]
    assert last_two[0] != last_two[1]


async def test_least_used_follows_the_usage_windows(world: World) -> None:
    codex_world(world, "least-used", {"openai-codex:a": "acct-a", "openai-codex:b": "acct-b"})
    world.api.authorize = usage({"acct-a": 90, "acct-b": 20})
    assert (await world.turn(talk("ann"))).profile == "openai-codex:b"  # most headroom
    reads = len(world.api.paths("/backend-api/wham/usage"))
    assert reads == 2
    world.api.authorize = usage({"acct-a": 10, "acct-b": 95})
    # Not read again before WINDOWS_EVERY: a new conversation still sees b as the lighter.
    assert (await world.turn(talk("bob"))).profile == "openai-codex:b"
    assert len(world.api.paths("/backend-api/wham/usage")) == reads
    world.clock.advance(WINDOWS_EVERY)
    assert (await world.turn(talk("cid"))).profile == "openai-codex:a"
    assert (await world.turn(talk("ann"))).profile == "openai-codex:b"  # ann stays on b


async def test_a_stale_quota_block_lifts_at_the_reported_reset(world: World) -> None:
    codex_world(world, "ordered", {"openai-codex:a": "acct-a", "openai-codex:b": "acct-b"})
    runtime = world.runtime
    assert runtime is not None
    # a's quota answer says it resets in two hours.
    world.api.script(CODEX["usage_limit"], path="/backend-api/codex/")
    moved = await world.turn()
    assert steps(moved)[0][1:] == ("openai-codex:a", "failed", "quota")
    assert moved.profile == "openai-codex:b"
    block = runtime.health.marks["block|openai-codex:a"]
    assert block.until == NOW + 7200
    # The usage endpoint says the window resets in 10 minutes: the block ends then.
    reset = NOW + 600
    world.api.authorize = usage({"acct-a": 100, "acct-b": 5}, reached={"acct-a"}, reset_at=reset)
    still = await world.turn()
    assert steps(still)[0] == (CODEX_REF, "openai-codex:a", "skip_cooldown", "quota")
    assert runtime.health.marks["block|openai-codex:a"].until == reset
    world.clock.advance(601)
    assert (await world.turn()).profile == "openai-codex:a"

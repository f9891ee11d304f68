"""Streaming failover (docs/routing.md, "Streaming"): invisible before the first token; after it,
never a cut answer passed off as complete: a restart for callers that can take one, an
explicit error for the others; and never a prefill of the cut text."""

from __future__ import annotations

import pytest

from clawgate.failures import FailureClass as F
from clawgate.providers import TextDelta
from clawgate.runtime import (
    Answering,
    Restart,
    TurnEvent,
    TurnFailed,
    TurnRequest,
    TurnResult,
)
from clawgate.state import StoredMessage
from tests.fakes.model_api import chat_frames, stream
from tests.routing.conftest import HELLO, NOW, World, steps

pytestmark = pytest.mark.anyio


async def events_of(
    world: World, request: TurnRequest
) -> tuple[list[TurnEvent], TurnFailed | None]:
    """What the caller sees, with the `Answering` notices checked and left out."""
    runtime = world.runtime or world.start()
    events: list[TurnEvent] = []
    try:
        async for event in runtime.stream(request):
            events.append(event)
    except TurnFailed as exc:
        return _shown(events), exc
    return _shown(events), None


def _shown(events: list[TurnEvent]) -> list[TurnEvent]:
    for i, event in enumerate(events):
        if isinstance(event, TextDelta) and (i == 0 or isinstance(events[i - 1], Restart)):
            raise AssertionError("text came before the notice of who is answering")
    return [e for e in events if not isinstance(e, Answering)]


@pytest.mark.parametrize(("then", "reason"), [("cut", "stream_broken"), ("stall", "timeout")])
async def test_after_content_an_api_caller_gets_an_explicit_error(
    world: World, then: str, reason: str
) -> None:
    world.start(routing__resume="off")  # resuming is docs/routing.md, test_resume.py
    world.api.script(stream(chat_frames().first(2), then=then), path="/sub/")  # type: ignore[arg-type]
    events, failed = await events_of(world, TurnRequest(HELLO))
    assert events == [TextDelta("Hel"), TextDelta("lo")]  # no TurnResult: not complete
    assert failed is not None
    assert failed.failure.kind is F.STREAM_BROKEN
    assert failed.partial is True
    assert steps(failed) == [("sub/m", "sub:me", "failed", reason)]
    record = world.state().decisions.get(failed.turn_id)
    assert record is not None
    assert record.outcome == "failed"


async def test_after_content_a_chat_caller_gets_a_restart_and_a_whole_new_answer(
    world: World,
) -> None:
    world.api.script(stream(chat_frames().first(2), then="cut"), path="/sub/")
    events, failed = await events_of(world, TurnRequest(HELLO, restartable=True))
    assert failed is None
    assert events[:3] == [TextDelta("Hel"), TextDelta("lo"), events[2]]
    assert isinstance(events[2], Restart)
    assert events[3:6] == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" there")]
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert (result.profile, result.fallback, result.text) == ("sub:alt", True, "Hello there")
    # The next candidate was asked the same question, with no prefill of the cut answer.
    first, second = world.api.paths("/sub/")
    assert second.body["messages"] == first.body["messages"]
    assert all(m["role"] != "assistant" for m in second.body["messages"])


async def test_one_malformed_event_is_skipped_and_the_answer_completes(world: World) -> None:
    world.api.script(stream(chat_frames().with_malformed()), path="/sub/")
    result = await world.turn()
    assert (result.text, result.fallback) == ("Hello there", False)


async def test_a_clean_end_without_done_is_finalized_with_usage(world: World) -> None:
    world.api.script(stream(chat_frames(usage=(9, 3)).without_terminal()), path="/sub/")
    result = await world.turn()
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (9, 3)


async def test_a_clean_end_without_a_finish_is_broken_not_complete(world: World) -> None:
    world.start(routing__resume="off")
    world.api.script(stream(chat_frames().first(3)), path="/sub/")
    events, failed = await events_of(world, TurnRequest(HELLO))
    assert failed is not None
    assert failed.failure.kind is F.STREAM_BROKEN
    assert not any(isinstance(e, TurnResult) for e in events)


# -- sessions ----------------------------------------------------------------------------------


async def test_a_session_carries_its_history_into_the_next_turn(world: World) -> None:
    await world.turn(TurnRequest(HELLO, session="telegram:42"))
    from clawgate.providers import Message

    await world.turn(TurnRequest((Message("user", "And again?"),), session="telegram:42"))
    sent = world.api.seen[-1].body["messages"]
    assert sent == [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": "Hello there"},
        {"role": "user", "content": "And again?"},
    ]
    history = world.state().sessions.history("telegram:42")
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]


async def test_a_long_history_is_capped_to_the_models_context(world: World) -> None:
    from clawgate.providers import Message

    state = world.state()
    old = [
        StoredMessage("user" if i % 2 == 0 else "assistant", f"{i} " + "x" * 4000)
        for i in range(20)
    ]
    state.sessions.append("s", "t0", old, now=NOW)
    await world.turn(
        TurnRequest((Message("user", "newest"),), model="small/m", session="s", max_tokens=100)
    )
    sent = world.api.seen[-1].body["messages"]
    assert sent[-1] == {"role": "user", "content": "newest"}
    assert 1 < len(sent) < 21  # only the newest of the history fit into 4096 tokens
    assert sent[-2]["content"].startswith("19 ")  # newest first, none skipped in between
    assert sum(len(m["content"]) for m in sent) // 4 < 4096

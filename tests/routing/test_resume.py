"""Resumable streams (docs/routing.md, "Resumable streams"), through the fault-injecting
fake: an API stream that breaks after content is continued, by the same candidate or the
next, and the caller gets one coherent answer with nothing repeated; the resume is in the
result and the decision record. ``routing.resume: "off"`` keeps the explicit error
(test_streaming.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clawgate.providers import TextDelta
from clawgate.routing import Budget
from clawgate.runtime import Answering, Restart, TurnEvent, TurnFailed, TurnRequest, TurnResult
from tests.fakes.model_api import FakeModelAPI, chat_frames, error, messages_frames, sse, stream
from tests.gateway.inprocess import local_gateway, sse_events, streamed_text
from tests.gateway.running import config
from tests.routing.conftest import HELLO, World, steps

pytestmark = pytest.mark.anyio

CUT_PARTS = ("The quick brown", " fox jumps")
SENT = "The quick brown fox jumps"
WHOLE = "The quick brown fox jumps over the lazy dog."
# The continuation repeats the last words it was given, as models do.
REST = ("fox jumps over", " the lazy dog.")


async def events_of(world: World, request: TurnRequest) -> list[TurnEvent]:
    runtime = world.runtime or world.start()
    return [event async for event in runtime.stream(request)]


def text_of(events: list[TurnEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def last_message(body: Any) -> dict[str, Any]:
    message: dict[str, Any] = body["messages"][-1]
    return message


async def test_a_cut_stream_is_resumed_by_the_same_candidate(world: World) -> None:
    world.start()
    world.api.script(
        stream(chat_frames(CUT_PARTS).first(2), then="cut"),
        stream(chat_frames(REST).all()),
        path="/sub/",
    )
    events = await events_of(world, TurnRequest(HELLO))
    assert text_of(events) == WHOLE  # one coherent answer, nothing repeated
    assert sum(isinstance(e, Answering) for e in events) == 1
    assert not any(isinstance(e, Restart) for e in events)
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert (result.text, result.resumed_at, result.profile) == (WHOLE, len(SENT), "sub:me")
    assert steps(result) == [
        ("sub/m", "sub:me", "failed", "stream_broken"),
        ("sub/m", "sub:me", "succeeded", "resumed"),
    ]
    # An OpenAI-compatible wire gets the instruction form, quoting what was sent.
    first, second = world.api.paths("/sub/")
    assert second.body["messages"][:-1] == first.body["messages"]
    asked = last_message(second.body)
    assert asked["role"] == "user"
    assert f"<<<\n{SENT}\n>>>" in asked["content"]
    record = world.state().decisions.get(result.turn_id)
    assert record is not None
    assert record.outcome == "succeeded"
    assert record.attempts[-1].message == f"continued the answer from character {len(SENT)} " + (
        "(instruction)"
    )


async def test_when_no_retry_is_left_the_next_candidate_resumes(world: World) -> None:
    world.start(budget=Budget(retries=0))
    world.api.script(
        stream(chat_frames(CUT_PARTS).first(2), then="cut"),
        stream(chat_frames(REST).all()),
        path="/sub/",
    )
    result = (await events_of(world, TurnRequest(HELLO)))[-1]
    assert isinstance(result, TurnResult)
    assert (result.text, result.profile, result.resumed_at) == (WHOLE, "sub:alt", len(SENT))
    assert [s[1:] for s in steps(result)] == [
        ("sub:me", "failed", "stream_broken"),
        ("sub:alt", "succeeded", "resumed"),
    ]


async def test_a_stall_after_content_resumes_within_the_idle_budget(world: World) -> None:
    world.start()
    world.api.script(stream(chat_frames(CUT_PARTS).first(2), then="stall"), path="/sub/")
    world.api.script(stream(chat_frames(REST).all()), path="/sub/")
    events = await events_of(world, TurnRequest(HELLO))
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert text_of(events) == WHOLE
    # A silent route is not tried again: the next profile continued.
    assert [s[1:] for s in steps(result)] == [
        ("sub:me", "failed", "timeout"),
        ("sub:alt", "succeeded", "resumed"),
    ]


PREFILL_REFUSED = error(
    400,
    {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "This model does not support assistant message prefill.",
        },
    },
)


async def test_a_prefill_refusing_fallback_gets_the_instruction_form_once(world: World) -> None:
    anthropic = {
        "api": "anthropic-messages",
        "baseUrl": f"{world.api.url}/anth",
        "auth": "none",
        "timeouts": {"connect": 2, "firstToken": 2, "idle": 2, "total": 10},
    }
    world.start(
        budget=Budget(retries=0),
        models__providers__anth=anthropic,
        agents__defaults__model={"primary": "free/m", "fallbacks": ["anth/m"]},
    )
    world.api.script(stream(chat_frames(CUT_PARTS).first(2), then="cut"), path="/free/")
    world.api.script(PREFILL_REFUSED, stream(messages_frames(REST).all()), path="/anth/")
    events = await events_of(world, TurnRequest(HELLO))
    assert text_of(events) == WHOLE
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert (result.model, result.resumed_at) == ("anth/m", len(SENT))
    prefilled, instructed = world.api.paths("/anth/")
    assert last_message(prefilled.body) == {"role": "assistant", "content": SENT}
    assert last_message(instructed.body)["role"] == "user"
    assert all(m["role"] != "assistant" for m in instructed.body["messages"])  # no 2nd prefill
    assert [s[2:] for s in steps(result)] == [
        ("failed", "stream_broken"),
        ("failed", "bad_request"),
        ("succeeded", "resumed"),
    ]


async def test_a_model_that_starts_over_is_not_repeated(world: World) -> None:
    world.start()
    world.api.script(
        stream(chat_frames(CUT_PARTS).first(2), then="cut"),
        stream(chat_frames((WHOLE[:20], WHOLE[20:])).all()),
        path="/sub/",
    )
    events = await events_of(world, TurnRequest(HELLO))
    assert text_of(events) == WHOLE


async def test_out_of_candidates_a_resumed_answer_still_ends_in_an_explicit_error(
    world: World,
) -> None:
    world.start(
        budget=Budget(retries=0),
        auth__order__sub=["sub:me"],
        agents__defaults__model={"primary": "sub/m"},
    )
    world.api.script(stream(chat_frames(CUT_PARTS).first(2), then="cut"), path="/sub/")
    runtime = world.runtime
    assert runtime is not None
    seen: list[TurnEvent] = []

    async def consume() -> None:
        async for event in runtime.stream(TurnRequest(HELLO)):
            seen.append(event)

    with pytest.raises(TurnFailed) as failed:
        await consume()
    assert text_of(seen) == SENT  # no TurnResult: never passed off as complete
    assert failed.value.partial is True


async def test_through_the_gateway_the_caller_streams_one_answer_and_is_told(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    document = config(api.url)
    document["routing"] = {"resume": "auto"}
    api.script(
        stream(chat_frames(CUT_PARTS).first(2), then="cut"),
        stream(chat_frames(REST).all()),
        path="/x1/",
    )
    async with local_gateway(tmp_path / "state", api, document) as local:
        answer = await local.client.post(
            "/v1/chat/completions",
            json={"model": "x1/m", "messages": [{"role": "user", "content": "Hi"}], "stream": True},
        )
    events = sse_events(answer.text)
    assert streamed_text(events) == WHOLE
    final = [e for e in events if isinstance(e, dict) and e.get("choices")][-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["clawgate"]["resumed"] == {
        "at": len(SENT),
        "model": "x1/m",
        "profile": "x1:default",
    }


async def test_an_answer_with_tool_calls_is_not_resumed(world: World) -> None:
    world.start()
    call = {
        "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}},
        ]
    }
    frame = sse(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": call, "finish_reason": None}],
        }
    )
    cut = [*chat_frames().first(1), frame]
    world.api.script(stream(cut, then="cut"), path="/sub/")
    runtime = world.runtime
    assert runtime is not None

    async def consume() -> None:
        async for _ in runtime.stream(TurnRequest(HELLO)):
            pass

    with pytest.raises(TurnFailed) as failed:
        await consume()
    assert failed.value.partial is True
    assert "broke off" in failed.value.message
    assert len(world.api.paths("/sub/")) == 1  # nobody was asked to continue it

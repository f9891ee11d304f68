"""Turns with tools and images through the runtime: tool-call deltas assemble into the
result, a session keeps whole messages and replays them exactly, and a stream cut after a
tool-call delta is never passed off as complete."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import (
    Completed,
    ImagePart,
    Message,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
)
from clawgate.runtime import Answering, Runtime, TurnFailed, TurnRequest, TurnResult
from clawgate.state import State, open_db
from tests.runtime.scripted import Scripted, Source

pytestmark = pytest.mark.anyio

CALL = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
PIECES = [
    ToolCallDelta(0, id="call_1", name="get_weather"),
    ToolCallDelta(0, arguments='{"city": '),
    ToolCallDelta(0, arguments='"Oslo"}'),
]


SETTINGS = Settings.model_validate(
    {
        "agents": {"defaults": {"model": {"primary": "remote/m", "fallbacks": []}}},
        # A provider of one's own does text and tools; this model also sees.
        "models": {"providers": {"remote": {"models": [{"id": "m", "input": ["text", "image"]}]}}},
    }
)


async def test_tool_call_pieces_assemble_into_the_result() -> None:
    provider = Scripted([*PIECES, Completed("tool_calls", model="m")])
    events = [e async for e in Runtime(SETTINGS, Source(remote=provider)).stream(TurnRequest(()))]
    assert isinstance(events[0], Answering)  # a tool call is content: who answers comes first
    assert events[1:4] == PIECES
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert (result.finish_reason, result.text, result.tool_calls) == ("tool_calls", "", (CALL,))


async def test_a_session_keeps_whole_messages_and_replays_them(tmp_path: Path) -> None:
    provider = Scripted(
        [*PIECES, Completed("tool_calls", model="m")],
        [TextDelta("It is sunny."), Completed("stop", model="m")],
    )
    state = State.open(tmp_path / "state.db")
    runtime = Runtime(SETTINGS, Source(remote=provider), state=state)
    image = ImagePart("data:image/png;base64,iVBORw0KGgo=", "low")
    asked = Message("user", (TextPart("Weather here?"), image))
    await runtime.complete(TurnRequest((asked,), session="s"))
    answer = Message("tool", '{"sky": "clear"}', tool_call_id="call_1")
    result = await runtime.complete(TurnRequest((answer,), session="s"))
    assert result.text == "It is sunny."

    replayed = provider.requests[1].messages
    assert replayed == (
        asked,
        Message("assistant", "", tool_calls=(CALL,)),
        answer,
    )
    history = state.sessions.history("s")
    assert [m.role for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[0].content == "Weather here?"  # the text, for people and queries
    assert json.loads(history[1].body or "{}")["toolCalls"] == [
        ["call_1", "get_weather", CALL.arguments]
    ]
    state.close()


async def test_rows_from_before_whole_messages_replay_as_text(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State.open(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO sessions (key, created_at, updated_at) VALUES ('old', 0, 0)")
        conn.execute(
            "INSERT INTO messages (session_key, turn_id, role, content, created_at) "
            "VALUES ('old', 't', 'user', 'from an older clawgate', 0)"
        )
    conn.close()
    provider = Scripted([TextDelta("ok"), Completed("stop", model="m")])
    state = State.open(path)
    await Runtime(SETTINGS, Source(remote=provider), state=state).complete(
        TurnRequest((Message("user", "and now"),), session="old")
    )
    assert provider.requests[0].messages == (
        Message("user", "from an older clawgate"),
        Message("user", "and now"),
    )
    state.close()


def test_the_migration_adds_the_body_column(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "state.db")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
    conn.close()
    assert "body" in columns


async def test_a_stream_cut_after_a_tool_call_delta_ends_with_an_error() -> None:
    cut = Scripted([PIECES[0], Failed(Failure(FailureClass.NETWORK, "connection reset"))])
    events: list[object] = []

    async def consume() -> None:
        async for event in Runtime(SETTINGS, Source(remote=cut)).stream(TurnRequest(())):
            events.append(event)

    with pytest.raises(TurnFailed) as info:
        await consume()
    assert events[1:] == [PIECES[0]]
    assert info.value.code == "stream_broken"
    assert info.value.partial


BLIND = Settings.model_validate(
    {
        "agents": {"defaults": {"model": {"primary": "blind/m", "fallbacks": ["remote/m"]}}},
        "models": {"providers": {"remote": {"models": [{"id": "m", "input": ["text", "image"]}]}}},
    }
)
PICTURE = Message("user", (TextPart("What is this?"), ImagePart("https://example.org/a.png")))


async def test_a_model_that_cannot_see_is_skipped_for_an_image_turn() -> None:
    provider = Scripted([TextDelta("A cat."), Completed("stop", model="m")])
    result = await Runtime(BLIND, Source(remote=provider)).complete(TurnRequest((PICTURE,)))
    assert result.model == "remote/m"
    skipped = result.attempts[0]
    assert (skipped.candidate, skipped.decision, skipped.reason) == (
        "blind/m",
        "skip_capability",
        "capability",
    )
    assert skipped.message == "blind/m cannot take image"
    assert len(provider.requests) == 1  # only the model that can see was asked


async def test_when_no_model_can_take_the_turn_it_is_a_bad_request() -> None:
    text_only = Settings.model_validate(
        {"agents": {"defaults": {"model": {"primary": "blind/m", "fallbacks": ["local/x"]}}}}
    )
    provider = Scripted()
    with pytest.raises(TurnFailed) as info:
        await Runtime(text_only, Source(remote=provider)).complete(TurnRequest((PICTURE,)))
    assert info.value.code == "bad_request"
    assert "blind/m cannot take image" in info.value.message
    assert "local/x cannot take image" in info.value.message
    assert [a.decision for a in info.value.attempts] == ["skip_capability"] * 2
    assert provider.requests == []


async def test_a_tool_history_needs_tools_even_without_tool_definitions() -> None:
    no_tools = Settings.model_validate(
        {
            "agents": {"defaults": {"model": {"primary": "remote/m", "fallbacks": []}}},
            "models": {"providers": {"remote": {"models": [{"id": "m", "tools": False}]}}},
        }
    )
    answer = Message("tool", "42", tool_call_id="call_1")
    with pytest.raises(TurnFailed) as info:
        await Runtime(no_tools, Source(remote=Scripted())).complete(TurnRequest((answer,)))
    assert "remote/m cannot take tools" in info.value.message

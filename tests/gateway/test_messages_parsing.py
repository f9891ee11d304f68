"""The Messages API surface's parts, without a server: a request read into the conversation
model, which model a name means, the streamed block events an answer's content becomes, and
the Anthropic shapes of answers and failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clawgate.config import Settings
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.gateway._anthropic_request import effort_for, parse_request, turn_request
from clawgate.gateway._anthropic_shapes import (
    failure_error,
    message,
    stop_reason,
    tool_input,
    turn_failed,
    usage,
)
from clawgate.gateway._anthropic_stream import Blocks, Interleaved, failed_event
from clawgate.gateway._openai import RequestError
from clawgate.providers import (
    ImagePart,
    Message,
    NamedTool,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from clawgate.routing import RouteFailed
from clawgate.runtime import Answering, TurnFailed, TurnResult

SETTINGS = Settings.model_validate(
    {"agents": {"defaults": {"models": {"cc/gpt-4.1": {"alias": "claude-sonnet-4-5"}}}}}
)
ASK = [{"role": "user", "content": "hi"}]


def read(**body: Any) -> Any:
    document = {"model": "cc/m", "max_tokens": 64, "messages": ASK, **body}
    return turn_request(parse_request(document), SETTINGS)


def refused(document: dict[str, Any], *, counting: bool = False) -> RequestError:
    with pytest.raises(RequestError) as info:
        turn_request(parse_request(document, counting=counting), SETTINGS)
    return info.value


# -- the conversation ----------------------------------------------------------------------


def test_a_system_message_among_the_messages_stays_in_its_place() -> None:
    """Claude Code's shape for a model it does not know: a system message after the user's."""
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "system",
            "content": [{"type": "text", "text": "Be"}, {"type": "text", "text": "brief."}],
        },
        {"role": "assistant", "content": "ok"},
        {"role": "system", "content": "Mind the date."},
    ]
    turn = read(system="You help.", messages=messages).turn
    assert [(m.role, m.text) for m in turn.messages] == [
        ("system", "You help."),
        ("user", "hi"),
        ("system", "Be\n\nbrief."),
        ("assistant", "ok"),
        ("system", "Mind the date."),
    ]


def test_a_system_message_carries_text_only() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
    error = refused(
        {
            "model": "cc/m",
            "max_tokens": 8,
            "messages": [*ASK, {"role": "system", "content": [image]}],
        }
    )
    assert error.param == "messages.1.content.0"
    assert "text blocks only" in error.message


def test_a_tool_round_trip_becomes_calls_and_tool_messages() -> None:
    parsed = read(
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"q": "P"}},
                    {"type": "tool_use", "id": "t2", "name": "list", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and go on"},
                    {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                    {"type": "tool_result", "tool_use_id": "t2", "is_error": True},
                ],
            },
        ],
    )
    assert parsed.turn.messages == (
        Message("system", "Be brief.\n\nBe kind."),
        Message("user", "weather?"),
        Message(
            "assistant",
            (TextPart("Checking."),),
            tool_calls=(
                ToolCall("t1", "get_weather", '{"q": "P"}'),
                ToolCall("t2", "list", "{}"),
            ),
        ),
        Message("tool", "sunny", tool_call_id="t1"),
        Message("tool", "Error", tool_call_id="t2"),
        Message("user", (TextPart("and go on"),)),
    )


def test_images_and_a_tool_result_of_blocks() -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "AAAA"}
    parsed = read(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": image, "cache_control": {"type": "ephemeral"}},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "shot", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "no"},
                            {"type": "image", "source": image},
                        ],
                    }
                ],
            },
        ]
    )
    first, _, result = parsed.turn.messages
    assert first.content == (
        ImagePart("data:image/png;base64,AAAA"),
        ImagePart("https://x.test/a.png"),
    )
    assert result.content == (
        TextPart("Error: "),
        TextPart("no"),
        ImagePart("data:image/png;base64,AAAA"),
    )


def test_options_and_what_is_dropped_here() -> None:
    parsed = read(
        tools=[{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["END"],
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        thinking={"type": "enabled", "budget_tokens": 8000},
        metadata={"user_id": "u1"},
        container="c1",
        stream=True,
    )
    o = parsed.turn.options
    assert [t.name for t in o.tools] == ["f"]
    assert o.tools[0].parameters == {"type": "object"}
    assert (o.tool_choice, o.parallel_tool_calls) == ("required", False)
    assert o.stop == ("END",)
    assert o.top_p == 0.9
    assert o.user == "u1"
    assert o.reasoning_effort == "medium"
    assert dict(o.extra) == {"top_k": 40}
    assert parsed.turn.temperature == 0.5
    assert parsed.turn.max_tokens == 64
    assert parsed.turn.stream is True
    assert parsed.dropped == ("container",)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, ("auto", None)),
        ({"type": "none"}, ("none", None)),
        ({"type": "tool", "name": "f"}, (NamedTool("f"), None)),
        ({"type": "auto", "disable_parallel_tool_use": False}, ("auto", None)),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: tuple[Any, Any]) -> None:
    o = read(tools=[{"name": "f", "input_schema": {}}], tool_choice=choice).turn.options
    assert (o.tool_choice, o.parallel_tool_calls) == expected


def test_thinking_budgets_and_other_kinds() -> None:
    assert [effort_for(b) for b in (1024, 4096, 16383, 16384, None)] == [
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    adaptive = read(thinking={"type": "adaptive"}).turn.options
    assert adaptive.reasoning_effort is None
    assert adaptive.extra == {"thinking": {"type": "adaptive"}}
    disabled = read(thinking={"type": "disabled"}).turn.options
    assert disabled.reasoning_effort is None
    assert not disabled.extra


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"max_tokens": None}, "max_tokens", "Field required"),
        ({"temperature": 1.5}, "temperature", "less than or equal to 1"),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            "messages.0.content.0",
            "is a document block",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}],
                    }
                ]
            },
            "messages.0.content.0",
            "belong to assistant messages",
        ),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "tools.0.type",
            "server tool",
        ),
        ({"tools": [{"name": "f"}]}, "tools.0.input_schema", "Field required"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            },
            "messages.0.content.0.source",
            "Files API",
        ),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name", "names it"),
    ],
)
def test_refusals_name_the_place(body: dict[str, Any], param: str, words: str) -> None:
    document = {"model": "cc/m", "max_tokens": 64, "messages": ASK, **body}
    document = {k: v for k, v in document.items() if v is not None}
    error = refused(document)
    assert error.param == param
    assert words in error.message


def test_count_tokens_needs_no_max_tokens() -> None:
    parsed = turn_request(
        parse_request({"model": "cc/m", "messages": ASK}, counting=True), SETTINGS
    )
    assert parsed.turn.max_tokens is None


# -- which model a name means ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("clawgate", None),
        ("default", None),
        ("cc/m", "cc/m"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),  # an alias: that model
        ("claude-haiku-4-5-20251001", None),  # a Claude name no alias names: the chain
    ],
)
def test_model_names(name: str, model: str | None) -> None:
    assert read(model=name).turn.model == model


def test_any_other_name_is_not_found_and_says_how_to_alias_it() -> None:
    error = refused({"model": "gpt-5", "max_tokens": 8, "messages": ASK})
    assert error.code == "model_not_found"
    assert 'agents.defaults.models["<provider>/<model>"].alias = "gpt-5"' in error.message


# -- the streamed block events -------------------------------------------------------------

WHO = Answering("abc", "cc/m", "cc:default", False)


def _result(finish: str = "tool_calls", used: Usage | None = None) -> TurnResult:
    return TurnResult("abc", "cc/m", "cc:default", False, "", finish, used, ())


def _events(blocks: Blocks, *content: Any) -> list[dict[str, Any]]:
    return [e for event in content for e in blocks.content(event)]


def test_text_then_calls_in_pieces_then_the_end() -> None:
    blocks = Blocks(WHO, estimated_input=42)
    start = blocks.start()
    assert [e["type"] for e in start] == ["message_start", "ping"]
    assert start[0]["message"]["usage"] == {"input_tokens": 42, "output_tokens": 0}
    assert start[0]["message"]["id"] == "msg_abc"
    assert start[0]["message"]["content"] == []
    said = _events(
        blocks,
        TextDelta("Let "),
        TextDelta(""),
        TextDelta("me."),
        ToolCallDelta(0, "c0", "f", ""),
        ToolCallDelta(0, arguments='{"a":'),
        ToolCallDelta(0, arguments=""),
        ToolCallDelta(0, arguments=" 1}"),
        ToolCallDelta(1, "c1", "g", '{"b": 2}'),
        ToolCallDelta(2, "c2", "h"),
    )
    end = blocks.finish(_result(used=Usage(100, 7, cached_tokens=60)))
    assert [(e["type"], e.get("index")) for e in [*said, *end]] == [
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("content_block_start", 3),
        ("content_block_stop", 3),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert said[0]["content_block"] == {"type": "text", "text": ""}
    assert said[4]["content_block"] == {"type": "tool_use", "id": "c0", "name": "f", "input": {}}
    pieces = [e["delta"]["partial_json"] for e in said if e.get("index") == 1 and "delta" in e]
    assert pieces == ['{"a":', " 1}"]
    assert said[9]["delta"] == {"type": "input_json_delta", "partial_json": '{"b": 2}'}
    assert end[-2] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"input_tokens": 40, "output_tokens": 7, "cache_read_input_tokens": 60},
    }


def test_an_empty_answer_has_no_blocks() -> None:
    blocks = Blocks(WHO)
    assert [e["type"] for e in blocks.finish(_result("stop"))] == ["message_delta", "message_stop"]


def test_text_after_a_call_opens_a_new_block_and_a_call_cannot_go_back() -> None:
    blocks = Blocks(WHO)
    said = _events(blocks, ToolCallDelta(0, "c0", "f", "{}"), TextDelta("done"))
    assert [e["type"] for e in said] == [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
    ]
    with pytest.raises(Interleaved):
        blocks.content(ToolCallDelta(0, arguments="more"))


def test_a_cut_answer_ends_with_anthropics_error_object() -> None:
    cut = TurnFailed(
        "abc", RouteFailed(Failure(F.STREAM_BROKEN, "cc/m broke off"), attempts=(), partial=True)
    )
    assert failed_event(cut) == {
        "type": "error",
        "error": {"type": "api_error", "message": "cc/m broke off"},
    }


# -- shapes ------------------------------------------------------------------------------------


def test_stop_reasons() -> None:
    finishes = ["stop", "length", "tool_calls", "content_filter", "pause_turn", "weird"]
    assert [stop_reason(f) for f in finishes] == [
        "end_turn",
        "max_tokens",
        "tool_use",
        "refusal",
        "pause_turn",
        "end_turn",
    ]


def test_usage() -> None:
    assert usage(None) == {"input_tokens": 0, "output_tokens": 0}
    assert usage(Usage(10, 2)) == {"input_tokens": 10, "output_tokens": 2}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (F.BAD_REQUEST, (400, "invalid_request_error")),
        (F.CONTEXT_OVERFLOW, (400, "invalid_request_error")),
        (F.MODEL_NOT_FOUND, (404, "not_found_error")),
        (F.RATE_LIMIT, (429, "rate_limit_error")),
        (F.QUOTA, (429, "rate_limit_error")),
        (F.OVERLOADED, (529, "overloaded_error")),
        (F.AUTH_DEAD, (503, "api_error")),
        (F.TIMEOUT, (504, "api_error")),
        (F.SERVER_ERROR, (502, "api_error")),
        (F.STREAM_BROKEN, (502, "api_error")),
    ],
)
def test_failure_classes(kind: F, expected: tuple[int, str]) -> None:
    assert failure_error(kind) == expected


def test_a_rate_limit_says_when_to_retry() -> None:
    failure = Failure(F.RATE_LIMIT, "slow down", fix="wait", retry_after=2.4)
    answer = turn_failed(TurnFailed("abc", RouteFailed(failure, attempts=())))
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["x-clawgate-turn"] == "abc"
    assert json.loads(answer.body) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down (fix: wait)"},
    }


def test_tool_input_is_never_lost() -> None:
    assert tool_input("") == {}
    assert tool_input(' {"a": 1}') == {"a": 1}
    assert tool_input('{"a": ') == '{"a": '


def test_a_whole_message() -> None:
    result = TurnResult(
        "abc",
        "anth/m",
        "anth:default",
        True,
        "Sure.",
        "tool_calls",
        Usage(30, 4),
        (),
        tool_calls=(ToolCall("t", "f", '{"x": 1}'), ToolCall("u", "g", "")),
        dropped=("seed",),
    )
    body = message(result, ("container",))
    assert body["content"] == [
        {"type": "text", "text": "Sure."},
        {"type": "tool_use", "id": "t", "name": "f", "input": {"x": 1}},
        {"type": "tool_use", "id": "u", "name": "g", "input": {}},
    ]
    assert body["stop_reason"] == "tool_use"
    assert body["usage"]["input_tokens"] == 30
    assert body["clawgate"]["fallback"] is True
    assert body["clawgate"]["dropped"] == ["container", "seed"]

"""Anthropic's Messages wire, over the real HTTP path against the fake API: the conversation and
the options arrive in the API's own spelling (system apart, alternating turns, tool_use and
tool_result blocks, image sources, tool_choice), tool-call answers (streamed and not) become
`ToolCallDelta`s, and `dropped` names exactly what the wire leaves out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.providers import (
    Completed,
    ImagePart,
    Message,
    ModelRequest,
    NamedTool,
    Options,
    ResponseFormat,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
)
from tests.fakes.messages_tools import (
    MODEL,
    NO_INPUT,
    OUTPUT_TOKENS,
    SAID,
    TIME,
    WEATHER,
    tool_frames,
    tool_json,
)
from tests.fakes.model_api import FakeModelAPI, Reply, messages_frames, stream
from tests.providers.conftest import HELLO, Harness
from tests.providers.wire import PHOTO, PNG, PNG_BASE64, answer, completed

pytestmark = pytest.mark.anyio

WEATHER_TOOL = Tool(
    "get_weather",
    "Get the current weather in a given location",
    {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["location"],
    },
)
# The whole prompt (input + cache reads + cache writes), of which the cache reads were cached.
CACHED_USAGE = Usage(472 + 1800 + 50, OUTPUT_TOKENS, cached_tokens=1800)


async def sent(harness: Harness, request: ModelRequest) -> dict[str, Any]:
    """The body the API received for ``request``."""
    events = await harness.run("anthropic", request)
    assert isinstance(events[-1], Completed)
    body: dict[str, Any] = harness.api.seen[-1].body
    return body


def dropped(harness: Harness, request: ModelRequest) -> tuple[str, ...]:
    names: tuple[str, ...] = harness.provider("anthropic").dropped(request)
    return names


def options(**given: Any) -> ModelRequest:
    return ModelRequest("claude-x", HELLO, options=Options(**given))


# -- the conversation ----------------------------------------------------------------------


async def test_a_tool_conversation_is_spelled_as_alternating_turns(harness: Harness) -> None:
    conversation = (
        Message("system", "Be terse."),
        Message("developer", "Use metric units."),
        Message("user", "Weather in SF?"),
        Message("user", (TextPart("And the time there."),)),
        Message(
            "assistant",
            "Checking.",
            tool_calls=(
                ToolCall(WEATHER.id, "get_weather", '{"location": "San Francisco, CA"}'),
                ToolCall(TIME.id, "get_time", " "),  # no arguments at all: an empty object
            ),
        ),
        Message("tool", '{"temp_c": 14}', tool_call_id=WEATHER.id, name="get_weather"),
        Message("tool", (TextPart("09:41"),), tool_call_id=TIME.id),
        Message("user", "Thanks. Anything else?"),
        Message("assistant", "", refusal="I can't share that."),
        Message("assistant", "Anything else I can do?"),
        Message("tool", "", tool_call_id="toolu_late"),
    )
    body = await sent(harness, ModelRequest("claude-x", conversation))
    assert body["system"] == "Be terse.\n\nUse metric units."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather in SF?"},
                {"type": "text", "text": "And the time there."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": WEATHER.id,
                    "name": "get_weather",
                    "input": {"location": "San Francisco, CA"},
                },
                {"type": "tool_use", "id": TIME.id, "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [  # the results first, then the user's text
                {"type": "tool_result", "tool_use_id": WEATHER.id, "content": '{"temp_c": 14}'},
                {
                    "type": "tool_result",
                    "tool_use_id": TIME.id,
                    "content": [{"type": "text", "text": "09:41"}],
                },
                {"type": "text", "text": "Thanks. Anything else?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I can't share that."},
                {"type": "text", "text": "Anything else I can do?"},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_late"}]},
    ]


async def test_a_lone_text_message_stays_a_string(harness: Harness) -> None:
    conversation = (*HELLO, Message("assistant", "Hello!"), Message("user", "Bye."))
    body = await sent(harness, ModelRequest("claude-x", conversation))
    assert body["messages"] == [
        {"role": "user", "content": "Say hello."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye."},
    ]
    assert "system" not in body


async def test_images_arrive_as_image_blocks_with_their_source(harness: Harness) -> None:
    conversation = (
        Message(
            "user",
            (
                TextPart("What are these?"),
                ImagePart(PNG, "high"),
                ImagePart(PHOTO),
            ),
        ),
        Message("assistant", "", tool_calls=(ToolCall("toolu_1", "snap", "{}"),)),
        Message(
            "tool", (ImagePart(f"data:image/jpeg;base64,{PNG_BASE64}"),), tool_call_id="toolu_1"
        ),
    )
    body = await sent(harness, ModelRequest("claude-x", conversation))
    png = {"type": "base64", "media_type": "image/png", "data": PNG_BASE64}
    jpeg = {"type": "base64", "media_type": "image/jpeg", "data": PNG_BASE64}
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What are these?"},
        {"type": "image", "source": png},
        {"type": "image", "source": {"type": "url", "url": PHOTO}},
    ]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "snap", "input": {}}
    ]
    assert body["messages"][2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [{"type": "image", "source": jpeg}],
        }
    ]


@pytest.mark.parametrize("arguments", ['{"location": "SF"', "[1, 2]", "null", '"SF"'])
async def test_arguments_that_are_not_a_json_object_fail_before_sending(
    harness: Harness, arguments: str
) -> None:
    conversation = (
        *HELLO,
        Message("assistant", "", tool_calls=(ToolCall("call_7", "get_weather", arguments),)),
        Message("tool", "14C", tool_call_id="call_7"),
    )
    with pytest.raises(Failed) as caught:
        await harness.run("anthropic", ModelRequest("claude-x", conversation))
    failure = caught.value.failure
    assert failure.kind is FailureClass.BAD_REQUEST
    assert "'call_7' (get_weather) in messages[1]" in failure.message
    assert failure.fix is not None
    assert harness.api.seen == []  # nothing was sent


async def test_a_data_url_that_is_not_base64_fails_before_sending(harness: Harness) -> None:
    image = ImagePart("data:image/svg+xml,%3Csvg%3E%3C/svg%3E")
    with pytest.raises(Failed) as caught:
        await harness.run("anthropic", ModelRequest("claude-x", (Message("user", (image,)),)))
    assert caught.value.failure.kind is FailureClass.BAD_REQUEST
    assert "messages[0]" in caught.value.failure.message
    assert harness.api.seen == []


# -- options -------------------------------------------------------------------------------


async def test_every_expressible_option_is_spelled_as_anthropic_documents(
    harness: Harness,
) -> None:
    request = ModelRequest(
        "claude-x",
        HELLO,
        max_tokens=512,
        temperature=0.3,
        options=Options(
            tools=(WEATHER_TOOL, Tool("list_alarms"), Tool("ping", strict=False)),
            tool_choice="auto",
            parallel_tool_calls=False,
            stop=("\n\nHuman:", "END"),
            user="user-8d2f",
            service_tier="standard_only",
        ),
    )
    body = await sent(harness, request)
    assert {k: v for k, v in body.items() if k not in ("model", "messages", "stream")} == {
        "max_tokens": 512,
        "temperature": 0.3,
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "input_schema": dict(WEATHER_TOOL.parameters or {}),
            },
            {"name": "list_alarms", "input_schema": {"type": "object"}},
            {"name": "ping", "input_schema": {"type": "object"}},
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "stop_sequences": ["\n\nHuman:", "END"],
        "metadata": {"user_id": "user-8d2f"},
        "service_tier": "standard_only",
    }
    assert dropped(harness, request) == ()


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        (NamedTool("get_weather"), None, {"type": "tool", "name": "get_weather"}),
        ("none", None, {"type": "none"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            NamedTool("get_weather"),
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        ("none", False, {"type": "none"}),
        (None, None, None),
        (None, True, None),  # parallel calls are the API's default
    ],
)
async def test_tool_choice(
    harness: Harness,
    choice: ToolChoice | None,
    parallel: bool | None,
    expected: dict[str, Any] | None,
) -> None:
    request = options(tools=(WEATHER_TOOL,), tool_choice=choice, parallel_tool_calls=parallel)
    body = await sent(harness, request)
    assert body.get("tool_choice") == expected
    assert dropped(harness, request) == ()


async def test_top_p_alone_is_sent_but_not_beside_a_temperature(harness: Harness) -> None:
    alone = options(top_p=0.9)
    assert (await sent(harness, alone))["top_p"] == 0.9
    assert dropped(harness, alone) == ()
    both = ModelRequest("claude-x", HELLO, temperature=0.5, options=Options(top_p=0.9))
    body = await sent(harness, both)
    assert (body["temperature"], "top_p" in body) == (0.5, False)
    assert dropped(harness, both) == ("top_p",)


async def test_a_temperature_above_the_api_range_is_sent_as_one(harness: Harness) -> None:
    request = ModelRequest("claude-x", HELLO, temperature=1.6)
    assert (await sent(harness, request))["temperature"] == 1.0
    assert dropped(harness, request) == ("temperature",)


async def test_what_the_wire_cannot_say_is_left_out_and_named(harness: Harness) -> None:
    request = ModelRequest(
        "claude-x",
        (Message("user", "Hi", name="ana"), Message("tool", "ok", tool_call_id="t", name="f")),
        options=Options(
            tools=(Tool("f", strict=True), Tool("g")),
            response_format=ResponseFormat("json_schema", "answer", {"type": "object"}, True),
            seed=7,
            presence_penalty=0.5,
            frequency_penalty=0.2,
            logit_bias={"50256": -100},
            logprobs=True,
            top_logprobs=3,
            reasoning_effort="high",
            service_tier="flex",
            metadata={"run": "42"},
            extra={"store": True, "prediction": {"type": "content", "content": "x"}},
        ),
    )
    body = await sent(harness, request)
    assert dropped(harness, request) == (
        "tools.strict",
        "response_format",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "metadata",
        "service_tier",
        "messages.name",
        "store",
        "prediction",
    )
    assert set(body) == {"model", "max_tokens", "messages", "stream", "tools"}
    assert [t.get("strict") for t in body["tools"]] == [None, None]


async def test_tool_options_without_tools_are_not_sent(harness: Harness) -> None:
    request = options(tool_choice="required", parallel_tool_calls=False)
    body = await sent(harness, request)
    assert "tool_choice" not in body
    assert "tools" not in body
    assert dropped(harness, request) == ("tool_choice", "parallel_tool_calls")


@pytest.mark.parametrize(
    "unasked",
    [
        Options(),
        Options(response_format=ResponseFormat("text"), logprobs=False, logit_bias={}),
        Options(service_tier="auto", metadata={}),
    ],
)
async def test_what_asks_for_nothing_is_not_reported(harness: Harness, unasked: Options) -> None:
    request = ModelRequest("claude-x", HELLO, options=unasked)
    body = await sent(harness, request)
    assert dropped(harness, request) == ()
    assert set(body) - {"service_tier"} == {"model", "max_tokens", "messages", "stream"}


# -- answers -------------------------------------------------------------------------------


async def test_a_streamed_tool_call_becomes_tool_call_deltas(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(stream(tool_frames().all()))
    events = await harness.run("anthropic")
    assert events[:-1] == [
        TextDelta("Okay"),
        TextDelta(", let's check the weather for San Francisco, CA:"),
        ToolCallDelta(0, WEATHER.id, "get_weather"),
        *(ToolCallDelta(0, arguments=p) for p in WEATHER.pieces if p),
    ]
    assert events[-1] == Completed(
        "tool_calls", MODEL, CACHED_USAGE, "msg_014p7gG3wDgGV9EUtLvnow3U"
    )
    got = answer(events)
    assert got.text == "".join(SAID)
    assert [(c.id, c.name, json.loads(c.arguments)) for c in got.tool_calls] == [
        (WEATHER.id, "get_weather", {"location": "San Francisco, CA", "unit": "fahrenheit"})
    ]


async def test_parallel_calls_are_numbered_in_order_and_thinking_is_skipped(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(stream(tool_frames((WEATHER, TIME, NO_INPUT), said=(), thinking=True).all()))
    events = await harness.run("anthropic")
    starts = [e for e in events if isinstance(e, ToolCallDelta) and e.id]
    assert starts == [
        ToolCallDelta(0, WEATHER.id, "get_weather"),
        ToolCallDelta(1, TIME.id, "get_time"),
        ToolCallDelta(2, NO_INPUT.id, "list_alarms"),
    ]
    assert not any(isinstance(e, TextDelta) for e in events)
    got = answer(events)
    assert got.text == ""
    assert [json.loads(c.arguments) for c in got.tool_calls] == [WEATHER.input, TIME.input, {}]
    assert got.tool_calls[2].arguments == "{}"  # a call whose input streamed nothing still parses
    assert completed(events).finish_reason == "tool_calls"


async def test_an_unstreamed_tool_call_gives_the_same_events(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(Reply(body=tool_json((WEATHER, NO_INPUT))))
    events = await harness.run("anthropic", ModelRequest("claude-x", HELLO, stream=False))
    assert events == [
        TextDelta("I'll check the current weather in San Francisco for you."),
        ToolCallDelta(0, WEATHER.id, "get_weather", json.dumps(WEATHER.input)),
        ToolCallDelta(1, NO_INPUT.id, "list_alarms", "{}"),
        Completed("tool_calls", MODEL, CACHED_USAGE, "msg_01Aq9w938a90dw8q"),
    ]
    assert harness.api.seen[-1].body["stream"] is False


async def test_usage_counts_the_cached_prompt_and_no_cache_fields_mean_unknown(
    harness: Harness, api: FakeModelAPI
) -> None:
    no_cache = {"input_tokens": 30, "cache_read_input_tokens": 0}
    api.script(
        stream(tool_frames(usage=no_cache).all()),
        Reply(body=tool_json(usage={"input_tokens": 30})),
    )
    streamed = await harness.run("anthropic")
    unstreamed = await harness.run("anthropic", ModelRequest("claude-x", HELLO, stream=False))
    assert completed(streamed).usage == Usage(30, OUTPUT_TOKENS, cached_tokens=0)
    assert completed(unstreamed).usage == Usage(30, OUTPUT_TOKENS)


async def test_a_tool_stream_cut_before_its_stop_reason_is_unfinished(
    harness: Harness, api: FakeModelAPI
) -> None:
    frames = tool_frames()
    api.script(stream([*frames.start, *frames.deltas[:6]]))
    with pytest.raises(Failed) as caught:
        await harness.run("anthropic")
    assert caught.value.failure.kind is FailureClass.STREAM_BROKEN


async def test_text_answers_are_unchanged(harness: Harness, api: FakeModelAPI) -> None:
    api.script(stream(messages_frames().all()))
    events = await harness.run("anthropic")
    assert events[:-1] == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" there")]
    assert completed(events).usage == Usage(25, 15)

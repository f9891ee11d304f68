"""The Responses API wire, both ways, over the real HTTP path: OpenAI's API
(``api: openai-responses``) and the ChatGPT backend (``openai-codex``).

What goes up is asserted at the body the fake received, in the spelling
https://platform.openai.com/docs/api-reference/responses/create documents; what comes back is
the documented function-call stream and JSON (`tests/fakes/responses_tools.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from clawgate.providers import (
    Completed,
    ImagePart,
    Message,
    ModelRequest,
    NamedTool,
    Options,
    ResponseFormat,
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from clawgate.providers._responses import DEFAULT_INSTRUCTIONS, dropped
from clawgate.providers.openai_codex import OpenAICodexProvider
from tests.fakes.model_api import FakeModelAPI, Reply, stream
from tests.fakes.responses_tools import CALLS, RESPONSE_ID, pieces, tool_frames, tool_json
from tests.providers.conftest import HELLO, Harness
from tests.providers.wire import PHOTO, PNG, WEATHER_SCHEMA, answer, completed

pytestmark = pytest.mark.anyio

BOTH = ("openai-responses", "openai-codex")
WEATHER = Tool("get_weather", "The current weather at a place.", WEATHER_SCHEMA, strict=True)
TIME = Tool("get_time")  # no description, no parameters, strictness not said

CONVERSATION = (
    Message("system", "You are terse."),
    Message("developer", "Answer in French."),
    Message(
        "user",
        (
            TextPart("What is in these pictures, and what is the weather in Paris?"),
            ImagePart(PNG),
            ImagePart(PHOTO, "low"),
        ),
        name="ana",
    ),
    Message(
        "assistant",
        "Let me check.",
        tool_calls=(
            ToolCall("call_1", "get_weather", '{"location":"Paris"}'),
            ToolCall("call_2", "get_time", "{}"),
        ),
        reasoning="The user wants two things.",
    ),
    Message("tool", '{"temperature":18}', tool_call_id="call_1"),
    Message("tool", "14:05", tool_call_id="call_2"),
    Message("assistant", "", refusal="I can't say what the second picture shows."),
    Message("developer", "Now be polite."),
    Message("user", "Thanks!"),
)

INPUT: list[dict[str, Any]] = [
    {
        "type": "message",
        "role": "user",
        "content": [
            {
                "type": "input_text",
                "text": "What is in these pictures, and what is the weather in Paris?",
            },
            {"type": "input_image", "image_url": PNG, "detail": "auto"},
            {"type": "input_image", "image_url": PHOTO, "detail": "low"},
        ],
    },
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Let me check."}],
    },
    {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"location":"Paris"}',
    },
    {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature":18}'},
    {"type": "function_call_output", "call_id": "call_2", "output": "14:05"},
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": "I can't say what the second picture shows."}],
    },
    {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "Now be polite."}],
    },
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks!"}]},
]

EVERY_OPTION = Options(
    tools=(WEATHER, TIME),
    tool_choice="required",
    parallel_tool_calls=False,
    response_format=ResponseFormat(
        "json_schema",
        "weather_report",
        {"type": "object", "properties": {"summary": {"type": "string"}}},
        strict=True,
        description="What to say about the weather.",
    ),
    top_p=0.9,
    stop=("END",),
    seed=7,
    presence_penalty=0.5,
    frequency_penalty=0.25,
    logit_bias={"50256": -100.0},
    logprobs=True,
    top_logprobs=3,
    reasoning_effort="low",
    service_tier="flex",
    user="user-1234",
    metadata={"app": "clawgate-tests"},
    extra={"prediction": {"type": "content", "content": "x"}, "verbosity": "low"},
)

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The current weather at a place.",
        "parameters": dict(WEATHER.parameters or {}),
        "strict": True,
    },
    # Chat Completions' defaults said out loud: Responses would make it strict, and requires
    # parameters.
    {
        "type": "function",
        "name": "get_time",
        "parameters": {"type": "object", "properties": {}},
        "strict": False,
    },
]
FORMAT = {
    "format": {
        "type": "json_schema",
        "name": "weather_report",
        "description": "What to say about the weather.",
        "schema": {"type": "object", "properties": {"summary": {"type": "string"}}},
        "strict": True,
    }
}
NOT_EXPRESSIBLE = (
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "prediction",
    "verbosity",
)


# What both servers get for full_request(): the conversation, and the options the ChatGPT
# backend takes too.
BOTH_GET: dict[str, Any] = {
    "model": "gpt-4.1",
    "instructions": "You are terse.\n\nAnswer in French.",
    "input": INPUT,
    "store": False,
    "tools": TOOLS,
    "tool_choice": "required",
    "parallel_tool_calls": False,
    "text": FORMAT,
    "reasoning": {"effort": "low"},
}


def full_request(**fields: Any) -> ModelRequest:
    return ModelRequest(
        "gpt-4.1",
        CONVERSATION,
        max_tokens=256,
        temperature=0.3,
        options=EVERY_OPTION,
        **fields,
    )


def expected_calls() -> tuple[ToolCall, ...]:
    return tuple(ToolCall(*call) for call in CALLS)


# -- what goes up ----------------------------------------------------------------------------


async def test_openai_gets_every_message_kind_and_option_in_its_spelling(
    harness: Harness,
) -> None:
    await harness.run("openai-responses", full_request(stream=False))
    seen = harness.api.seen[-1]
    assert seen.path == "/v1/responses"
    assert seen.body == {
        **BOTH_GET,
        "stream": False,
        "max_output_tokens": 256,
        "temperature": 0.3,
        "top_p": 0.9,
        "service_tier": "flex",
        "user": "user-1234",
        "metadata": {"app": "clawgate-tests"},
    }


async def test_the_chatgpt_backend_gets_the_same_conversation_without_what_it_refuses(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(stream(tool_frames(model="gpt-5-codex")))
    await harness.run("openai-codex", full_request())
    seen = harness.api.seen[-1]
    assert seen.path == "/backend-api/codex/responses"
    assert seen.body == {**BOTH_GET, "stream": True}


@pytest.mark.parametrize("case", BOTH)
async def test_nothing_is_sent_that_was_not_asked(harness: Harness, case: str) -> None:
    await harness.run(case, ModelRequest("gpt-5", HELLO))
    assert harness.api.seen[-1].body == {
        "model": "gpt-5",
        "instructions": DEFAULT_INSTRUCTIONS,
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say hello."}],
            }
        ],
        "stream": True,
        "store": False,
    }


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        (
            Options(tool_choice=NamedTool("get_weather")),
            {"tool_choice": {"type": "function", "name": "get_weather"}},
        ),
        (Options(tool_choice="none"), {"tool_choice": "none"}),
        (
            Options(tool_choice="auto", parallel_tool_calls=True),
            {"tool_choice": "auto", "parallel_tool_calls": True},
        ),
        (
            Options(response_format=ResponseFormat("json_object")),
            {"text": {"format": {"type": "json_object"}}},
        ),
        (Options(response_format=ResponseFormat("text")), {"text": {"format": {"type": "text"}}}),
        (
            Options(response_format=ResponseFormat("json_schema", "r", {"type": "object"})),
            {
                "text": {
                    "format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}
                }
            },
        ),
    ],
)
@pytest.mark.parametrize("case", BOTH)
async def test_tool_choice_and_output_format_spellings(
    harness: Harness, case: str, options: Options, sent: dict[str, Any]
) -> None:
    await harness.run(case, ModelRequest("gpt-5", HELLO, options=options))
    body = harness.api.seen[-1].body
    assert {k: v for k, v in body.items() if k in sent} == sent
    assert set(body) == {"model", "instructions", "input", "stream", "store", *sent}


async def test_an_image_in_a_tool_result_goes_as_input_parts(harness: Harness) -> None:
    request = ModelRequest(
        "gpt-4.1",
        (
            *HELLO,
            Message("assistant", tool_calls=(ToolCall("call_9", "screenshot", "{}"),)),
            Message("tool", (TextPart("Here:"), ImagePart(PNG, "high")), tool_call_id="call_9"),
        ),
    )
    await harness.run("openai-responses", request)
    assert harness.api.seen[-1].body["input"][1:] == [
        {"type": "function_call", "call_id": "call_9", "name": "screenshot", "arguments": "{}"},
        {
            "type": "function_call_output",
            "call_id": "call_9",
            "output": [
                {"type": "input_text", "text": "Here:"},
                {"type": "input_image", "image_url": PNG, "detail": "high"},
            ],
        },
    ]


async def test_a_system_message_later_in_the_conversation_stays_in_place(
    harness: Harness,
) -> None:
    request = ModelRequest("gpt-4.1", (*HELLO, Message("system", "Switch to English.")))
    await harness.run("openai-responses", request)
    body = harness.api.seen[-1].body
    assert body["instructions"] == DEFAULT_INSTRUCTIONS
    assert body["input"][1] == {
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "Switch to English."}],
    }


# -- what dropped() names --------------------------------------------------------------------


def test_openai_drops_only_what_responses_cannot_express() -> None:
    assert dropped(full_request()) == NOT_EXPRESSIBLE
    assert dropped(ModelRequest("m", HELLO, max_tokens=5, temperature=1)) == ()
    # False and empty are what the wire does anyway
    quiet = Options(logprobs=False, stop=(), logit_bias={}, metadata={})
    assert dropped(ModelRequest("m", HELLO, options=quiet)) == ()


async def test_the_chatgpt_backend_also_names_limits_and_sampling(harness: Harness) -> None:
    provider = harness.provider("openai-codex")
    assert isinstance(provider, OpenAICodexProvider)
    try:
        assert provider.dropped(full_request()) == (
            "max_tokens",
            "temperature",
            "top_p",
            *NOT_EXPRESSIBLE[:7],
            "service_tier",
            "user",
            "metadata",
            *NOT_EXPRESSIBLE[7:],
        )
        plain = Options(tools=(WEATHER,), tool_choice="auto", reasoning_effort="high")
        assert provider.dropped(ModelRequest("gpt-5", HELLO, options=plain)) == ()
        assert provider.dropped(ModelRequest("gpt-5", HELLO, max_tokens=9)) == ("max_tokens",)
    finally:
        await provider.aclose()


# -- what comes back -------------------------------------------------------------------------


@pytest.mark.parametrize("case", BOTH)
async def test_streamed_calls_come_out_as_chat_completions_pieces(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(tool_frames(reasoning=True)))
    events = await harness.run(
        case, ModelRequest("gpt-4.1", HELLO, options=Options(tools=(WEATHER,)))
    )
    expected: list[StreamEvent] = []
    for index, (call_id, name, arguments) in enumerate(CALLS):
        expected.append(ToolCallDelta(index, call_id, name))
        expected += [ToolCallDelta(index, arguments=p) for p in pieces(arguments)]
    assert events[:-1] == expected
    assert events[-1] == Completed(
        "tool_calls", "gpt-4.1-2025-04-14", Usage(291, 23, 256, 12), RESPONSE_ID
    )
    assert answer(events).tool_calls == expected_calls()


@pytest.mark.parametrize("case", BOTH)
async def test_calls_with_only_whole_arguments_name_then_argue(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(tool_frames(style="whole", reasoning=True)))
    events = await harness.run(case)
    assert events[:-1] == [
        piece
        for i, (call_id, name, arguments) in enumerate(CALLS)
        for piece in (ToolCallDelta(i, call_id, name), ToolCallDelta(i, arguments=arguments))
    ]
    assert completed(events).finish_reason == "tool_calls"


@pytest.mark.parametrize("case", BOTH)
async def test_calls_seen_only_when_done_come_out_in_one_piece(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(tool_frames(style="item", reasoning=True)))
    events = await harness.run(case)
    assert events[:-1] == [ToolCallDelta(i, *call) for i, call in enumerate(CALLS)]
    assert completed(events).finish_reason == "tool_calls"


async def test_streamed_calls_finish_as_tool_calls_even_if_the_end_omits_them(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(stream(tool_frames(style="item", echo=False)))
    events = await harness.run("openai-codex")
    assert completed(events).finish_reason == "tool_calls"
    assert answer(events).tool_calls == expected_calls()


@pytest.mark.parametrize("case", BOTH)
async def test_text_then_a_call(harness: Harness, api: FakeModelAPI, case: str) -> None:
    api.script(stream(tool_frames(CALLS[:1], text="Checking the weather.")))
    events = await harness.run(case)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Checking the weather."
    assert next(e for e in events if isinstance(e, ToolCallDelta)) == ToolCallDelta(
        0, "call_12345xyz", "get_weather"
    )
    assert answer(events).tool_calls == expected_calls()[:1]
    assert completed(events).finish_reason == "tool_calls"


async def test_an_unstreamed_answer_gives_one_piece_per_call(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(Reply(body=tool_json(text="Checking.")))
    events = await harness.run("openai-responses", ModelRequest("gpt-4.1", HELLO, stream=False))
    assert events == [
        TextDelta("Checking."),
        *(ToolCallDelta(i, *call) for i, call in enumerate(CALLS)),
        Completed("tool_calls", "gpt-4.1-2025-04-14", Usage(291, 23, 256, 12), RESPONSE_ID),
    ]


async def test_an_unstreamed_answer_without_calls_stops(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(Reply(body=tool_json((), text="Sunny.")))
    events = await harness.run("openai-responses", ModelRequest("gpt-4.1", HELLO, stream=False))
    assert events[:-1] == [TextDelta("Sunny.")]
    assert completed(events).finish_reason == "stop"


async def test_a_call_cut_by_the_output_limit_is_a_length_finish(
    harness: Harness, api: FakeModelAPI
) -> None:
    document = {
        **tool_json(),
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
    }
    api.script(Reply(body=document))
    events = await harness.run("openai-responses", ModelRequest("gpt-4.1", HELLO, stream=False))
    assert completed(events).finish_reason == "length"

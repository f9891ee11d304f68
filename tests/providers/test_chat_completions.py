"""The Chat Completions wire, both ways, over real HTTP (OpenAI, GitHub Copilot and an
OpenAI-compatible server against the fake; the embedded llama.cpp engine for real): every
message kind and option in the wire's own spelling, tool-call streams and bodies as events,
images as ``image_url`` parts, and what each provider's ``dropped`` names."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.auth import Access, Broker
from clawgate.clock import ManualClock
from clawgate.config import ProviderModel, ProviderSettings, Settings
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
    StreamEvent,
    TextDelta,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
    _responses,
)
from clawgate.providers.local import LocalProvider
from clawgate.providers.local._engine import load_engine
from clawgate.providers.local._files import bundled_model_path, chat_template
from clawgate.providers.openai import OpenAICompatibleProvider
from clawgate.vault import ApiKeyMaterial, KeyResolver, Vault
from tests.fakes.chat_tools import (
    MODEL,
    REFUSAL,
    TIME,
    WEATHER,
    chunk,
    refusal_frames,
    refusal_json,
    tool_call_frames,
    tool_call_json,
    usage_body,
)
from tests.fakes.model_api import FakeModelAPI, Reply, sse, stream
from tests.providers.conftest import HELLO, Harness
from tests.providers.wire import PNG, WEATHER_SCHEMA, answer, completed

pytestmark = pytest.mark.anyio

CONVERSATION = (
    Message("system", "Be brief.", name="ops"),
    Message("developer", "Answer in French."),
    Message(
        "user",
        (
            TextPart("What is in these?"),
            ImagePart("https://example.com/cat.png", "low"),
            ImagePart(PNG),
        ),
    ),
    Message(
        "assistant", "", tool_calls=(ToolCall("call_1", "get_weather", '{"location":"Paris"}'),)
    ),
    Message("tool", "18C and sunny", tool_call_id="call_1"),
    Message("assistant", "Il fait beau.", reasoning="The tool said so."),
    Message("assistant", "", refusal="I can't help with that."),
    Message("user", "Merci", name="ana"),
)
OPTIONS = Options(
    tools=(Tool("get_weather", "The weather in a city", WEATHER_SCHEMA, strict=True), Tool("noop")),
    tool_choice=NamedTool("get_weather"),
    parallel_tool_calls=False,
    response_format=ResponseFormat("json_schema", "weather", WEATHER_SCHEMA, True, "A report"),
    top_p=0.9,
    stop=("\n\n", "END"),
    seed=7,
    presence_penalty=0.5,
    frequency_penalty=-0.5,
    logit_bias={"50256": -100},
    logprobs=True,
    top_logprobs=3,
    reasoning_effort="low",
    service_tier="flex",
    user="user-42",
    metadata={"team": "ops"},
    extra={"store": True, "prediction": {"type": "content", "content": "Il fait"}},
)
FULL = ModelRequest("gpt-4.1", CONVERSATION, max_tokens=300, temperature=0.3, options=OPTIONS)

# The body every Chat Completions provider sends for FULL (OpenAI keeps the developer role).
EXPECTED: dict[str, Any] = {
    "model": "gpt-4.1",
    "messages": [
        {"role": "system", "content": "Be brief.", "name": "ops"},
        {"role": "developer", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": PNG}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "18C and sunny", "tool_call_id": "call_1"},
        {"role": "assistant", "content": "Il fait beau."},
        {"role": "assistant", "content": "", "refusal": "I can't help with that."},
        {"role": "user", "content": "Merci", "name": "ana"},
    ],
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 300,
    "temperature": 0.3,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER_SCHEMA,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "noop"}},
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "weather",
            "description": "A report",
            "schema": WEATHER_SCHEMA,
            "strict": True,
        },
    },
    "top_p": 0.9,
    "stop": ["\n\n", "END"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 3,
    "reasoning_effort": "low",
    "service_tier": "flex",
    "user": "user-42",
    "metadata": {"team": "ops"},
    "store": True,
    "prediction": {"type": "content", "content": "Il fait"},
}


def compatible(api: FakeModelAPI) -> OpenAICompatibleProvider:
    settings = ProviderSettings.model_validate({"baseUrl": api.url + "/v1"})
    return OpenAICompatibleProvider("vllm", settings)


async def events_of(harness: Harness, reply: Reply, request: ModelRequest) -> list[StreamEvent]:
    harness.api.script(reply)
    return await harness.run("openai", request)


# -- the request ---------------------------------------------------------------------------


async def test_openai_gets_every_message_kind_and_option_in_chat_completions_spelling(
    harness: Harness,
) -> None:
    await harness.run("openai", FULL)
    seen = harness.api.seen[-1]
    assert seen.path == "/v1/chat/completions"
    # OpenAI's own API takes the cap as max_completion_tokens (max_tokens is deprecated there).
    capped = {k: v for k, v in EXPECTED.items() if k != "max_tokens"}
    assert seen.body == {**capped, "max_completion_tokens": 300}


@pytest.mark.parametrize("case", ["github-copilot", "openai-compatible"])
async def test_other_servers_get_the_developer_message_as_system(
    harness: Harness, case: str
) -> None:
    if case == "openai-compatible":
        provider = compatible(harness.api)
        events = [e async for e in provider.stream(FULL)]
        await provider.aclose()
    else:
        events = await harness.run(case, FULL)
    assert isinstance(events[-1], Completed)
    sent = harness.api.seen[-1].body
    assert sent["messages"][1] == {"role": "system", "content": "Answer in French."}
    assert {**sent, "messages": sent["messages"][2:]} == {
        **EXPECTED,
        "messages": EXPECTED["messages"][2:],
    }


async def test_an_unstreamed_request_has_no_stream_options(harness: Harness) -> None:
    await harness.run("openai", replace(FULL, stream=False))
    sent = harness.api.seen[-1].body
    assert sent["stream"] is False
    assert "stream_options" not in sent


@pytest.mark.parametrize(
    ("options", "spelled"),
    [
        (Options(tool_choice="auto"), {"tool_choice": "auto"}),
        (Options(tool_choice="none"), {"tool_choice": "none"}),
        (Options(tool_choice="required"), {"tool_choice": "required"}),
        (
            Options(response_format=ResponseFormat("json_object")),
            {"response_format": {"type": "json_object"}},
        ),
        (Options(response_format=ResponseFormat("text")), {"response_format": {"type": "text"}}),
        (Options(stop=("x",), logprobs=False), {"stop": ["x"], "logprobs": False}),
    ],
    ids=["auto", "none", "required", "json_object", "text", "stop"],
)
async def test_each_choice_of_an_option_is_spelled_as_documented(
    harness: Harness, options: Options, spelled: dict[str, Any]
) -> None:
    await harness.run("openai", ModelRequest("gpt-4.1", HELLO, options=options))
    sent = harness.api.seen[-1].body
    asked = {
        k: v for k, v in sent.items() if k not in ("model", "messages", "stream", "stream_options")
    }
    assert asked == spelled


async def test_nothing_unasked_is_sent(harness: Harness) -> None:
    await harness.run("openai", ModelRequest("gpt-4.1", HELLO))
    assert harness.api.seen[-1].body == {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


# -- the answer ----------------------------------------------------------------------------


async def test_a_streamed_tool_call_becomes_tool_call_deltas(harness: Harness) -> None:
    events = await events_of(harness, stream(tool_call_frames(WEATHER).all()), FULL)
    assert events[:-1] == [
        ToolCallDelta(0, WEATHER.id, "get_weather", ""),
        ToolCallDelta(0, None, None, '{"'),
        ToolCallDelta(0, None, None, "location"),
        ToolCallDelta(0, None, None, '":"Paris"}'),
    ]
    assert events[-1] == Completed(
        "tool_calls", MODEL, Usage(82, 18, 64, 0), "chatcmpl-BHr9PqVZ3bCfnhTzz4l2nOkmCgOyq"
    )


async def test_text_then_parallel_tool_calls_assemble_into_the_answer(harness: Harness) -> None:
    frames = tool_call_frames(WEATHER, TIME, text=("Let me ", "check."))
    events = await events_of(harness, stream(frames.all()), FULL)
    assert events[:2] == [TextDelta("Let me "), TextDelta("check.")]
    assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 0, 0, 0, 1, 1, 1]
    got = answer(events)
    assert got.text == "Let me check."
    assert got.tool_calls == (
        ToolCall(WEATHER.id, "get_weather", '{"location":"Paris"}'),
        ToolCall(TIME.id, "get_time", '{"tz":"Europe/Paris"}'),
    )


async def test_an_unstreamed_tool_call_answer_gives_one_delta_per_call(harness: Harness) -> None:
    reply = Reply(body=tool_call_json(WEATHER, TIME, usage=usage_body(cached=0, reasoning=128)))
    events = await events_of(harness, reply, replace(FULL, stream=False))
    assert events == [
        ToolCallDelta(0, WEATHER.id, "get_weather", '{"location":"Paris"}'),
        ToolCallDelta(1, TIME.id, "get_time", '{"tz":"Europe/Paris"}'),
        Completed("tool_calls", "gpt-4o-mini-2024-07-18", Usage(82, 18, 0, 128), "chatcmpl-abc123"),
    ]


async def test_an_unstreamed_answer_with_text_and_a_call_gives_the_text_first(
    harness: Harness,
) -> None:
    events = await events_of(
        harness, Reply(body=tool_call_json(WEATHER, text="Checking.")), replace(FULL, stream=False)
    )
    assert events[:2] == [
        TextDelta("Checking."),
        ToolCallDelta(0, WEATHER.id, "get_weather", '{"location":"Paris"}'),
    ]


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "json"])
async def test_a_refusal_is_not_answer_text_and_ends_as_content_filter(
    harness: Harness, streamed: bool
) -> None:
    reply = stream(refusal_frames().all()) if streamed else Reply(body=refusal_json())
    events = await events_of(harness, reply, replace(FULL, stream=streamed))
    assert len(events) == 1
    final = events[0]
    assert isinstance(final, Completed)
    assert final.finish_reason == "content_filter"
    assert final.usage == Usage(82, 18, 0, 0)
    assert "".join(REFUSAL) not in repr(events)


async def test_usage_without_details_has_no_cached_or_reasoning_counts(harness: Harness) -> None:
    events = await harness.run("openai")
    assert completed(events).usage == Usage(12, 3, None, None)


def piece(
    arguments: str, *, index: int | None = 0, call: str | None = None, name: str | None = None
) -> bytes:
    """One chunk with one ``delta.tool_calls`` piece."""
    spelled: dict[str, Any] = {"function": {"arguments": arguments}}
    if index is not None:
        spelled["index"] = index
    if call is not None:
        spelled.update(id=call, type="function")
    if name is not None:
        spelled["function"]["name"] = name
    return chunk({"tool_calls": [spelled]})


# Shapes other servers may stream calls in, each read as the same calls.
QUIRKS = {
    # "stop" although the model stopped to call a tool
    "stop_with_calls": [piece("{}", call="c1", name="f"), chunk({}, "stop")],
    # every piece repeats the id and the name
    "repeated_id": [
        piece('{"a"', call="c1", name="f"),
        piece(":1}", call="c1", name="f"),
        chunk({}, "tool_calls"),
    ],
    # no index at all: an id starts a call, pieces without one continue it
    "no_index": [
        piece('{"a"', index=None, call="c1", name="f"),
        piece(":1}", index=None),
        piece("{}", index=None, call="c2", name="g"),
        chunk({}, "tool_calls"),
    ],
    # every call at index 0, told apart by its id
    "same_index": [
        piece('{"a":1}', call="c1", name="f"),
        piece("{}", call="c2", name="g"),
        chunk({}, "tool_calls"),
    ],
    # reasoning streamed apart from the text (llama.cpp, vLLM, DeepSeek)
    "reasoning_content": [
        chunk({"reasoning_content": "The user wants f."}),
        piece("{}", call="c1", name="f"),
        chunk({}, "tool_calls"),
    ],
}
QUIRK_CALLS = {
    "stop_with_calls": (ToolCall("c1", "f", "{}"),),
    "repeated_id": (ToolCall("c1", "f", '{"a":1}'),),
    "no_index": (ToolCall("c1", "f", '{"a":1}'), ToolCall("c2", "g", "{}")),
    "same_index": (ToolCall("c1", "f", '{"a":1}'), ToolCall("c2", "g", "{}")),
    "reasoning_content": (ToolCall("c1", "f", "{}"),),
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
async def test_tool_calls_from_less_tidy_servers(harness: Harness, quirk: str) -> None:
    events = await events_of(harness, stream([*QUIRKS[quirk], sse("[DONE]")]), FULL)
    assert completed(events).finish_reason == "tool_calls"
    assert answer(events).tool_calls == QUIRK_CALLS[quirk]
    assert answer(events).text == ""
    # the id and the name come once per call, on its first delta
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [d.id for d in deltas if d.id] == [c.id for c in QUIRK_CALLS[quirk]]
    assert [d.name for d in deltas if d.name] == [c.name for c in QUIRK_CALLS[quirk]]


async def test_arguments_sent_as_an_object_arrive_as_json_text(harness: Harness) -> None:
    body = tool_call_json(WEATHER)
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = {"location": "Paris"}
    events = await events_of(harness, Reply(body=body), replace(FULL, stream=False))
    assert events[0] == ToolCallDelta(0, WEATHER.id, "get_weather", '{"location": "Paris"}')


# -- what each provider leaves out ---------------------------------------------------------


async def test_chat_completions_providers_drop_nothing(harness: Harness) -> None:
    for provider in (
        harness.provider("openai"),
        harness.provider("github-copilot"),
        compatible(harness.api),
    ):
        assert provider.dropped(FULL) == ()
        await provider.aclose()


async def test_openai_on_the_responses_api_reports_that_wires_drops(harness: Harness) -> None:
    provider = harness.provider("openai-responses")
    assert provider.dropped(FULL) == _responses.dropped(FULL)
    assert "logit_bias" in provider.dropped(FULL)
    await provider.aclose()


def gguf(path: Path, template: str) -> Path:
    """A GGUF header (no tensors) with a vocabulary array before its chat template, as real
    files have them."""

    def string(value: str) -> bytes:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw

    entries = [
        string("general.architecture") + struct.pack("<I", 8) + string("llama"),
        string("llama.context_length") + struct.pack("<II", 4, 8192),
        string("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(string(t) for t in ("<s>", "a", "b")),
        string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + b"\0" * 12,
        string("tokenizer.chat_template") + struct.pack("<I", 8) + string(template),
    ]
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries)) + b"".join(entries))
    return path


TOOLS_ASKED = Options(tools=OPTIONS.tools, tool_choice="required", parallel_tool_calls=True)


def test_the_bundled_model_shows_no_tools_so_the_local_provider_drops_them() -> None:
    provider = LocalProvider("local", ProviderSettings())
    template = chat_template(bundled_model_path())
    assert template is not None
    assert "<|im_start|>" in template
    assert "tools" not in template
    request = ModelRequest("smollm2-135m", CONVERSATION, options=OPTIONS)
    assert provider.dropped(request) == ("tools", "tool_choice", "parallel_tool_calls")
    assert provider.dropped(ModelRequest("smollm2-135m", HELLO)) == ()
    sent = provider.body(request)
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(sent)
    assert sent["messages"][1] == {"role": "system", "content": "Answer in French."}
    assert sent["seed"] == 7  # the rest goes as asked


def test_a_local_model_whose_template_renders_tools_gets_them(tmp_path: Path) -> None:
    template = (
        "{% if tools %}{{ tools | tojson }}{% endif %}"
        "{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    path = gguf(tmp_path / "tooly.gguf", template)
    assert chat_template(path) == template
    provider = LocalProvider(
        "local", ProviderSettings(models=[ProviderModel(id="tooly", path=str(path))])
    )
    request = ModelRequest("tooly", HELLO, options=TOOLS_ASKED)
    assert provider.dropped(request) == ()
    sent = provider.body(request)
    assert (sent["tool_choice"], sent["parallel_tool_calls"]) == ("required", True)
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "noop"]


def test_a_file_without_a_readable_template_is_taken_to_show_no_tools(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    assert chat_template(junk) is None
    assert chat_template(tmp_path / "absent.gguf") is None


# -- the real engine -----------------------------------------------------------------------


async def test_the_local_engine_given_tools_answers_in_text_and_says_what_it_dropped() -> None:
    provider = LocalProvider("local", ProviderSettings())
    request = ModelRequest(
        "smollm2-135m",
        (Message("developer", "Use the tools."), Message("user", "Weather in Paris?")),
        max_tokens=6,
        temperature=0,
        options=TOOLS_ASKED,
    )
    assert provider.dropped(request) == ("tools", "tool_choice", "parallel_tool_calls")
    events = [e async for e in provider.stream(request)]
    assert completed(events).finish_reason in ("stop", "length")
    assert answer(events).text.strip()
    assert answer(events).tool_calls == ()


async def test_the_local_engine_refuses_images_before_running() -> None:
    provider = LocalProvider("local", ProviderSettings())
    request = ModelRequest(
        "smollm2-135m", (Message("user", (TextPart("What is it?"), ImagePart(PNG))),)
    )
    with pytest.raises(Failed) as failure:
        [e async for e in provider.stream(request)]
    assert failure.value.failure.kind is FailureClass.BAD_REQUEST
    assert "cannot see images" in failure.value.failure.message


@pytest.fixture
async def llama_access(tmp_path: Path) -> AsyncIterator[tuple[str, Access]]:
    engine = await load_engine(bundled_model_path())
    clock = ManualClock()
    vault = Vault(tmp_path / "vault", KeyResolver(tmp_path / "vault", {}), clock=clock)
    vault.save("llama:default", "llama", ApiKeyMaterial(engine.api_key))
    async with httpx.AsyncClient() as http:
        yield (
            engine.listening_address,
            Access(Broker(vault, Settings(), http=http, clock=clock), "llama:default"),
        )


async def test_llama_cpp_over_http_takes_tools_its_template_cannot_show_and_answers_text(
    llama_access: tuple[str, Access],
) -> None:
    address, access = llama_access
    provider = OpenAICompatibleProvider(
        "llama", ProviderSettings.model_validate({"baseUrl": address + "/v1"})
    )
    request = ModelRequest(
        "smollm2",
        (Message("user", "Weather in Paris?"),),
        max_tokens=6,
        temperature=0,
        options=TOOLS_ASKED,
    )
    assert provider.dropped(request) == ()  # a server of your own: its template is unknown here
    try:
        events = [e async for e in provider.stream(request, access)]
    finally:
        await provider.aclose()
    final = completed(events)
    assert final.finish_reason in ("stop", "length")
    assert answer(events).text.strip()
    assert final.usage is not None
    assert final.usage.cached_tokens is not None  # llama.cpp reports its prompt cache

"""The Anthropic Messages API surface through a real gateway process, with the official
`anthropic` SDK as the caller: a tool round trip (a ``tool_use``, then its ``tool_result``
sent back) over a Chat Completions, a Responses and an Anthropic upstream, streamed and not,
with the call's arguments arriving in pieces; images in each wire's own spelling; errors in
Anthropic's shape; a stream cut after content; failover before the first token; which model a
Claude model name means; and counting tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes import chat_tools, messages_count, messages_tools, responses_tools
from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply, stream
from tests.gateway.running import RunningGateway, config
from tests.gateway.wired import Clients, last_body, serving, upstream

PNG_DATA = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAA"
    "BQABpfZFQAAAAABJRU5ErkJggg=="
)
PNG = f"data:image/png;base64,{PNG_DATA}"
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "The weather now",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
TIME_TOOL: dict[str, Any] = {
    "name": "get_time",
    "description": "The time now",
    "input_schema": {"type": "object", "properties": {"timezone": {"type": "string"}}},
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
ASK: list[Any] = [{"role": "user", "content": "What is the weather and the time in Paris?"}]
SEES = {"id": "m", "input": ["text", "image"], "jsonSchema": True}
ANSWER = "Hello there"  # the fake upstreams' default answer


def _document(api_url: str) -> dict[str, Any]:
    document = config(api_url)
    wires = {
        "cc": "openai-completions",
        "resp": "openai-responses",
        "anth": "anthropic-messages",
        # Broken on purpose by one test each (health is shared by the module's gateway).
        "p1": "openai-completions",
        "cut": "openai-completions",
        "gone": "anthropic-messages",
    }
    document["models"]["providers"].update(
        {name: upstream(api_url, name, wire, SEES) for name, wire in wires.items()}
    )
    document["agents"]["defaults"]["model"] = {"primary": "p1/m", "fallbacks": ["cc/m"]}
    document["agents"]["defaults"]["models"] = {"anth/m": {"alias": "claude-opus-4-1"}}
    return document


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    with serving(tmp_path_factory, _model_api, _document(_model_api.url), "messages") as gw:
        yield gw


client = Clients(
    lambda gateway, token: anthropic.Anthropic(base_url=gateway.url, api_key=token, max_retries=0)
)


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    client.close()


def raw_events(gateway: RunningGateway, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event of a streamed answer, as sent."""
    with httpx.stream(
        "POST",
        gateway.url + "/v1/messages",
        json={**body, "stream": True},
        headers={"x-api-key": gateway.token, "anthropic-version": "2023-06-01"},
        timeout=20,
    ) as answer:
        assert answer.status_code == 200, answer.read()
        text = answer.read().decode()
    events = []
    for block in text.split("\n\n"):
        if block:
            head, data = block.split("\n", 1)
            assert head.startswith("event: "), block
            assert data.startswith("data: "), block
            events.append((head[len("event: ") :], json.loads(data[len("data: ") :])))
    return events


# -- a tool round trip on each wire, with the arguments streamed in pieces ------------------

CC_CALLS = (chat_tools.WEATHER, chat_tools.TIME)
RESP_CALLS = responses_tools.CALLS
ANTH_CALLS = (messages_tools.WEATHER, messages_tools.TIME)


def _calls(wire: str) -> list[tuple[str, str, str]]:
    """(id, name, arguments text) of each call the wire's first answer makes."""
    if wire == "cc":
        return [(c.id, c.name, c.arguments) for c in CC_CALLS]
    if wire == "resp":
        return list(RESP_CALLS)
    return [(c.id, c.name, "".join(c.pieces)) for c in ANTH_CALLS]


def _first_reply(wire: str, streamed: bool) -> Reply:
    if wire == "cc":
        if streamed:
            return stream(chat_tools.tool_call_frames(*CC_CALLS).all())
        return Reply(body=chat_tools.tool_call_json(*CC_CALLS))
    if wire == "resp":
        if streamed:
            return stream(responses_tools.tool_frames(RESP_CALLS))
        return Reply(body=responses_tools.tool_json(RESP_CALLS))
    if streamed:
        return stream(messages_tools.tool_frames(ANTH_CALLS).all())
    return Reply(body=messages_tools.tool_json(ANTH_CALLS))


def _ask(gateway: RunningGateway, model: str, messages: list[Any], streamed: bool) -> Any:
    """The SDK's final message; streamed, also every argument piece as the SDK saw it."""
    sdk = client(gateway)
    options: dict[str, Any] = {
        "model": model,
        "max_tokens": 256,
        "messages": messages,
        "tools": TOOLS,
        "tool_choice": {"type": "auto"},
    }
    if not streamed:
        return sdk.messages.create(**options), None
    pieces: dict[int, list[str]] = {}
    with sdk.messages.stream(**options) as events:
        for event in events:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                pieces.setdefault(event.index, []).append(event.delta.partial_json)
        final = events.get_final_message()
    return final, pieces


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("wire", ["cc", "resp", "anth"])
def test_a_tool_round_trip(
    gateway: RunningGateway, api: FakeModelAPI, wire: str, streamed: bool
) -> None:
    prefix = f"/{wire}/"
    api.script(_first_reply(wire, streamed), path=prefix)
    first, pieces = _ask(gateway, f"{wire}/m", ASK, streamed)
    calls = _calls(wire)
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert [(u.id, u.name) for u in uses] == [(i, n) for i, n, _ in calls]
    for use, (_, _, arguments) in zip(uses, calls, strict=True):
        assert use.input == json.loads(arguments)
    if streamed:
        # Every piece the upstream streamed, none empty, none lost, in order.
        tool_blocks = [i for i, b in enumerate(first.content) if b.type == "tool_use"]
        joined = ["".join(pieces[i]) for i in tool_blocks]
        assert joined == [arguments for _, _, arguments in calls]
        assert all(p for i in tool_blocks for p in pieces[i])
        assert any(len(pieces[i]) > 1 for i in tool_blocks)
    sent = last_body(api, prefix)

    # The second turn sends the calls and their results back; the model answers in text.
    results = [
        {"type": "tool_result", "tool_use_id": calls[0][0], "content": '{"sky": "clear"}'},
        {
            "type": "tool_result",
            "tool_use_id": calls[1][0],
            "content": [{"type": "text", "text": "10:00"}],
        },
    ]
    history = [*ASK, {"role": "assistant", "content": first.content}]
    history.append({"role": "user", "content": results})
    final, _ = _ask(gateway, f"{wire}/m", history, streamed)
    assert [(b.type, b.text) for b in final.content] == [("text", ANSWER)]
    assert final.stop_reason == "end_turn"
    second = last_body(api, prefix)
    ids = [c[0] for c in calls]
    if wire == "cc":
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["tool_choice"] == "auto"
        said = second["messages"]
        assert [c["id"] for c in said[1]["tool_calls"]] == ids
        args = [json.loads(c["function"]["arguments"]) for c in said[1]["tool_calls"]]
        assert args == [json.loads(c[2]) for c in calls]
        assert said[2] == {"role": "tool", "tool_call_id": ids[0], "content": '{"sky": "clear"}'}
        assert said[3]["tool_call_id"] == ids[1]
    elif wire == "resp":
        assert sent["tools"][0]["name"] == "get_weather"
        kinds = [item.get("type") for item in second["input"]]
        assert kinds == [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]
        assert second["input"][3] == {
            "type": "function_call_output",
            "call_id": ids[0],
            "output": '{"sky": "clear"}',
        }
    else:
        assert sent["tools"][0]["input_schema"]["required"] == ["location"]
        assert sent["tool_choice"] == {"type": "auto"}
        assistant = second["messages"][1]["content"]
        assert [b["type"] for b in assistant] == ["text", "tool_use", "tool_use"]
        assert [b["input"] for b in assistant[1:]] == [json.loads(c[2]) for c in calls]
        assert second["messages"][2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": ids[0],
            "content": '{"sky": "clear"}',
        }


def test_the_streamed_events_in_order(gateway: RunningGateway, api: FakeModelAPI) -> None:
    frames = chat_tools.tool_call_frames(chat_tools.WEATHER, text=("Let me", " look."))
    api.script(stream(frames.all()), path="/cc/")
    events = raw_events(
        gateway, {"model": "cc/m", "max_tokens": 64, "messages": ASK, "tools": [WEATHER_TOOL]}
    )
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        *["content_block_delta"] * len(chat_tools.WEATHER.fragments),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert (start["content"], start["role"], start["model"]) == ([], "assistant", "cc/m")
    assert events[6][1]["content_block"] == {
        "type": "tool_use",
        "id": chat_tools.WEATHER.id,
        "name": "get_weather",
        "input": {},
    }
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    usage = chat_tools.usage_body()
    assert delta["usage"] == {
        "input_tokens": usage["prompt_tokens"] - 64,
        "output_tokens": usage["completion_tokens"],
        "cache_read_input_tokens": 64,
    }


# -- images --------------------------------------------------------------------------------


def test_an_image_reaches_each_wire_in_its_own_shape(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    picture = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_DATA},
                },
            ],
        }
    ]
    for wire in ("cc", "resp", "anth"):
        answer = client(gateway).messages.create(model=f"{wire}/m", max_tokens=64, messages=picture)
        assert answer.content[0].text == ANSWER  # type: ignore[union-attr]
    cc = last_body(api, "/cc/")["messages"][0]["content"][1]
    assert cc == {"type": "image_url", "image_url": {"url": PNG}}
    resp = last_body(api, "/resp/")["input"][0]["content"][1]
    assert resp == {"type": "input_image", "image_url": PNG, "detail": "auto"}
    anth = last_body(api, "/anth/")["messages"][0]["content"][1]
    assert anth == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_DATA},
    }


# -- the non-streamed answer and what reaches the upstream --------------------------------


def test_an_answer_names_who_answered_and_options_reach_the_upstream(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(gateway).messages.with_raw_response.create(
        model="cc/m",
        max_tokens=77,
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=ASK,
        stop_sequences=["END"],
        metadata={"user_id": "household-1"},
        extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"},
        # This SDK no longer has the sampling fields; older clients send them.
        extra_body={"temperature": 0.3, "top_k": 5, "context_management": {"edits": []}},
    )
    answer = raw.parse()
    assert raw.headers["x-clawgate-model"] == "cc/m"
    assert raw.headers["x-clawgate-fallback"] == "false"
    assert raw.headers["x-clawgate-dropped-params"] == "context_management"
    assert answer.id == f"msg_{raw.headers['x-clawgate-turn']}"
    assert (answer.type, answer.role, answer.model) == ("message", "assistant", "cc/m")
    assert answer.stop_reason == "end_turn"
    assert answer.stop_sequence is None
    assert answer.usage.output_tokens == 3
    clawgate = answer.model_extra["clawgate"]  # type: ignore[index]
    assert clawgate["model"] == "cc/m"
    assert clawgate["dropped"] == ["context_management"]
    body = last_body(api, "/cc/")
    assert body["messages"][0] == {"role": "system", "content": "Be brief.\n\nBe kind."}
    assert body["stop"] == ["END"]
    assert body["temperature"] == 0.3
    assert body["top_k"] == 5  # kept as sent for a Chat Completions upstream
    assert body["user"] == "household-1"
    assert body["max_tokens"] == 77 or body.get("max_completion_tokens") == 77
    assert "context_management" not in body
    assert body["stream"] is False


# -- errors --------------------------------------------------------------------------------


def test_a_bad_request_is_an_invalid_request_error(gateway: RunningGateway) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client(gateway).messages.create(
            model="cc/m", max_tokens=16, messages=ASK, extra_body={"temperature": 3}
        )
    assert info.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": info.value.body["error"]["message"]},  # type: ignore[index]
    }
    assert "temperature" in info.value.message
    missing = httpx.post(
        gateway.url + "/v1/messages",
        json={"model": "cc/m", "messages": ASK},
        headers={"x-api-key": gateway.token},
    )
    assert missing.status_code == 400
    assert missing.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }


def test_a_document_block_is_refused_naming_it(gateway: RunningGateway) -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "hi"},
    }
    with pytest.raises(anthropic.BadRequestError) as info:
        client(gateway).messages.create(
            model="cc/m",
            max_tokens=16,
            messages=[{"role": "user", "content": [{"type": "text", "text": "x"}, document]}],  # type: ignore[list-item]
        )
    assert "messages[0].content[1] is a document block" in info.value.message


def test_no_token_or_a_wrong_one_is_an_authentication_error(gateway: RunningGateway) -> None:
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(gateway, "cg-wrong").messages.create(model="cc/m", max_tokens=16, messages=ASK)
    assert info.value.status_code == 401
    assert info.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    anonymous = client(gateway).with_options(api_key="")  # sends no x-api-key at all
    with pytest.raises(anthropic.AuthenticationError):
        anonymous.messages.create(
            model="cc/m",
            max_tokens=16,
            messages=ASK,
            extra_headers={"X-Api-Key": anthropic.Omit(), "Authorization": anthropic.Omit()},
        )
    bare = httpx.post(gateway.url + "/v1/messages/count_tokens", json={})
    assert bare.status_code == 401
    assert bare.json()["error"]["type"] == "authentication_error"


def test_an_unknown_model_name_is_not_found_and_says_how_to_alias_it(
    gateway: RunningGateway,
) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client(gateway).messages.create(model="gpt-nonsense", max_tokens=16, messages=ASK)
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert '.alias = "gpt-nonsense"' in info.value.message


def test_an_upstream_failure_before_content_is_an_anthropic_error(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["model"], path="/gone/")
    with pytest.raises(anthropic.NotFoundError) as info:
        client(gateway).messages.create(model="gone/m", max_tokens=16, messages=ASK, stream=True)
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert info.value.response.headers["x-clawgate-turn"]


# -- a stream cut after content --------------------------------------------------------------


def test_a_stream_cut_after_content_ends_with_an_error_event(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    frames = chat_tools.tool_call_frames(chat_tools.WEATHER, text=("Let me",))
    api.script(stream(frames.first(3), then="cut"), path="/cut/")
    seen: list[str] = []

    def read_all() -> None:
        with client(gateway).messages.stream(
            model="cut/m", max_tokens=64, messages=ASK, tools=[WEATHER_TOOL]
        ) as events:
            seen.extend(event.type for event in events)

    with pytest.raises(anthropic.APIStatusError) as info:
        read_all()
    assert "text" in seen
    assert "message_stop" not in seen
    assert info.value.body["type"] == "error"  # type: ignore[index]
    assert info.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert "broke off" in info.value.message

    api.script(stream(frames.first(3), then="cut"), path="/cut/")
    raw = raw_events(gateway, {"model": "cut/m", "max_tokens": 64, "messages": ASK})
    names = [name for name, _ in raw]
    assert names[-1] == "error"
    assert "message_stop" not in names
    assert "message_delta" not in names
    assert raw[-1][1]["error"]["type"] == "api_error"
    assert len(api.paths("/cut/")) == 2  # no silent failover once content was shown


# -- which model a name means; failover --------------------------------------------------------


def test_a_claude_name_is_the_chain_and_failover_before_content_is_invisible(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["model"], path="/p1/")
    with client(gateway).messages.with_streaming_response.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=ASK, stream=True
    ) as raw:
        assert raw.headers["x-clawgate-model"] == "cc/m"
        assert raw.headers["x-clawgate-fallback"] == "true"
        names = [line for line in raw.iter_lines() if line.startswith("event: ")]
    assert names[0] == "event: message_start"
    assert names[-1] == "event: message_stop"
    assert "event: error" not in names
    assert len(api.paths("/p1/")) == 1
    assert len(api.paths("/cc/")) == 1


def test_an_aliased_claude_name_is_its_model(gateway: RunningGateway, api: FakeModelAPI) -> None:
    answer = client(gateway).messages.create(model="claude-opus-4-1", max_tokens=16, messages=ASK)
    assert answer.model == "anth/m"
    assert last_body(api, "/anth/")["model"] == "m"


# -- count_tokens ------------------------------------------------------------------------------


def test_count_tokens_asks_an_anthropic_upstream(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(messages_count.counted(1234), path="/anth" + messages_count.PATH)
    raw = client(gateway).messages.with_raw_response.count_tokens(
        model="anth/m", system="Be brief.", messages=ASK, tools=[WEATHER_TOOL]
    )
    assert raw.parse().input_tokens == 1234
    assert raw.headers["x-clawgate-estimate"] == "false"
    assert raw.headers["x-clawgate-model"] == "anth/m"
    seen = api.paths("/anth" + messages_count.PATH)[-1]
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body == {
        "model": "m",
        "messages": ASK,
        "system": "Be brief.",
        "tools": [WEATHER_TOOL],
    }


def test_count_tokens_is_an_estimate_elsewhere(gateway: RunningGateway, api: FakeModelAPI) -> None:
    raw = client(gateway).messages.with_raw_response.count_tokens(model="cc/m", messages=ASK)
    counted = raw.parse()
    assert 0 < counted.input_tokens < 100
    assert raw.headers["x-clawgate-estimate"] == "true"
    assert counted.model_extra["clawgate"] == {"estimate": True, "model": "cc/m"}  # type: ignore[index]
    assert api.paths("/cc/") == []  # nothing was sent to count


def test_count_tokens_estimates_when_the_anthropic_upstream_cannot_count(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["model"], path="/gone" + messages_count.PATH)
    counted = client(gateway).messages.count_tokens(model="gone/m", messages=ASK)
    assert counted.input_tokens > 0
    facts = counted.model_extra["clawgate"]  # type: ignore[index]
    assert facts["estimate"] is True
    assert facts["note"].startswith("gone/m could not count: ")


def test_a_body_over_the_limit_is_request_too_large(gateway: RunningGateway) -> None:
    big = {"model": "cc/m", "max_tokens": 8, "messages": [{"role": "user", "content": "x" * 2**20}]}
    answer = httpx.post(
        gateway.url + "/v1/messages", json=big, headers={"x-api-key": gateway.token}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["type"] == "request_too_large"

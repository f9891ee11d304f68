"""Full-fidelity turns through a real gateway process, with the official `openai` SDK as the
caller: tools (a whole round trip), images, JSON-schema output and every common option reach
each wire in that wire's own spelling (asserted at the fake upstream), what a wire cannot send
is reported, and what no model can take is refused up front."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import chat_tools, messages_tools, responses_tools
from tests.fakes.model_api import FakeModelAPI, Reply, stream
from tests.gateway.running import RunningGateway, config
from tests.gateway.wired import Clients, last_body, serving, upstream

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAA"
    "BQABpfZFQAAAAABJRU5ErkJggg=="
)
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather now",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
SEES = {"id": "m", "input": ["text", "image"], "jsonSchema": True}


def _wires(api_url: str) -> dict[str, Any]:
    document = config(api_url)
    document["models"]["providers"].update(
        cc=upstream(api_url, "cc", "openai-completions", SEES),
        resp=upstream(api_url, "resp", "openai-responses", SEES),
        anth=upstream(
            api_url, "anth", "anthropic-messages", {"id": "m", "input": ["text", "image"]}
        ),
        blind=upstream(api_url, "blind", "openai-completions", {"id": "m"}),
    )
    return document


@pytest.fixture(scope="module")
def wired(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    with serving(tmp_path_factory, _model_api, _wires(_model_api.url), "fidelity") as gw:
        yield gw


client = Clients(lambda gateway, token: gateway.client(token))


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    client.close()


# -- a tool round trip on each wire ------------------------------------------------------------

CC_CALL = chat_tools.WEATHER
RESP_CALL = responses_tools.CALLS[0]
ANTH_CALL = messages_tools.WEATHER


def _first_reply(wire: str, streamed: bool) -> Reply:
    if wire == "cc":
        if streamed:
            return stream(chat_tools.tool_call_frames(CC_CALL).all())
        return Reply(body=chat_tools.tool_call_json(CC_CALL))
    if wire == "resp":
        if streamed:
            return stream(responses_tools.tool_frames((RESP_CALL,)))
        return Reply(body=responses_tools.tool_json((RESP_CALL,)))
    if streamed:
        return stream(messages_tools.tool_frames((ANTH_CALL,)).all())
    return Reply(body=messages_tools.tool_json((ANTH_CALL,)))


def _call(wire: str) -> tuple[str, str, str]:
    if wire == "cc":
        return CC_CALL.id, CC_CALL.name, CC_CALL.arguments
    if wire == "resp":
        return RESP_CALL
    return ANTH_CALL.id, ANTH_CALL.name, json.dumps(ANTH_CALL.input)


def _ask_with_tools(gateway: RunningGateway, model: str, streamed: bool) -> Any:
    """The first turn: the model answers with a tool call; returns the SDK's tool calls."""
    sdk = client(gateway)
    if not streamed:
        answer = sdk.chat.completions.create(
            model=model, messages=ASK, tools=[WEATHER_TOOL], tool_choice="auto"
        )
        assert answer.choices[0].finish_reason == "tool_calls"
        return answer.choices[0].message.tool_calls
    calls: dict[int, dict[str, str]] = {}
    finish = None
    with sdk.chat.completions.create(
        model=model, messages=ASK, tools=[WEATHER_TOOL], stream=True
    ) as chunks:
        for piece in chunks:
            for choice in piece.choices:
                finish = choice.finish_reason or finish
                for delta in choice.delta.tool_calls or ():
                    call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = delta.id or call["id"]
                    if delta.function is not None:
                        call["name"] = delta.function.name or call["name"]
                        call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    return [
        type("Call", (), {"id": c["id"], "function": type("F", (), c)})() for c in calls.values()
    ]


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("wire", ["cc", "resp", "anth"])
def test_a_tool_round_trip(
    wired: RunningGateway, api: FakeModelAPI, wire: str, streamed: bool
) -> None:
    prefix = f"/{wire}/"
    api.script(_first_reply(wire, streamed), path=prefix)
    calls = _ask_with_tools(wired, f"{wire}/m", streamed)
    call_id, name, arguments = _call(wire)
    assert [(c.id, c.function.name) for c in calls] == [(call_id, name)]
    assert json.loads(calls[0].function.arguments) == json.loads(arguments)
    first = last_body(api, prefix)

    # The second turn sends the call and its result back; the model answers in text.
    history = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"sky": "clear"}'},
    ]
    final = client(wired).chat.completions.create(
        model=f"{wire}/m", messages=history, tools=[WEATHER_TOOL]
    )
    assert final.choices[0].message.content
    second = last_body(api, prefix)
    if wire == "cc":
        assert first["tools"][0]["function"]["name"] == "get_weather"
        assert second["messages"][1]["tool_calls"][0]["id"] == call_id
        assert second["messages"][2] == {
            "role": "tool",
            "tool_call_id": call_id,
            "content": '{"sky": "clear"}',
        }
    elif wire == "resp":
        assert first["tools"][0]["name"] == "get_weather"  # flat, not under "function"
        kinds = [item.get("type") for item in second["input"]]
        assert kinds == ["message", "function_call", "function_call_output"]
        assert second["input"][2] == {
            "type": "function_call_output",
            "call_id": call_id,
            "output": '{"sky": "clear"}',
        }
    else:
        assert first["tools"][0]["input_schema"]["required"] == ["location"]
        assert second["messages"][1]["content"][-1]["type"] == "tool_use"
        assert second["messages"][1]["content"][-1]["input"] == json.loads(arguments)
        assert second["messages"][2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": call_id,
            "content": '{"sky": "clear"}',
        }


# -- images --------------------------------------------------------------------------------


def _picture() -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
            ],
        }
    ]


def test_an_image_reaches_each_wire_in_its_own_shape(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    sdk = client(wired)
    for wire in ("cc", "resp", "anth"):
        sdk.chat.completions.create(model=f"{wire}/m", messages=_picture())  # type: ignore[arg-type]
    cc = last_body(api, "/cc/")["messages"][0]["content"][1]
    assert cc == {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}}
    resp = last_body(api, "/resp/")["input"][0]["content"][1]
    assert resp == {"type": "input_image", "image_url": PNG, "detail": "low"}
    anth = last_body(api, "/anth/")["messages"][0]["content"][1]
    assert anth["type"] == "image"
    assert anth["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": PNG.split(",")[1],
    }


def test_a_model_that_cannot_see_is_skipped_and_the_record_says_why(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    answer = client(wired).chat.completions.with_raw_response.create(
        model="clawgate",
        messages=_picture(),  # type: ignore[arg-type]
        extra_body={"models": ["blind/m", "cc/m"]},
    )
    assert answer.headers["x-clawgate-model"] == "cc/m"
    assert api.paths("/blind/") == []
    turn = answer.headers["x-clawgate-turn"]
    wired.records_written()  # the CLI reads state.db itself
    decisions = wired.cli("models", "decisions", "--turn", turn, "--json")
    assert decisions.exit_code == 0, decisions.output
    attempts = json.loads(decisions.output)[0]["attempts"]
    assert (attempts[0]["candidate"], attempts[0]["decision"]) == ("blind/m", "skip_capability")
    assert attempts[0]["message"] == "blind/m cannot take image"


def test_when_no_model_can_take_the_request_it_is_a_400(wired: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(wired).chat.completions.create(model="blind/m", messages=_picture())  # type: ignore[arg-type]
    assert "blind/m cannot take image" in info.value.message
    assert info.value.code == "bad_request"


# -- structured output and options ---------------------------------------------------------

SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "weather",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"sky": {"type": "string"}},
            "required": ["sky"],
            "additionalProperties": False,
        },
    },
}


def test_a_json_schema_reaches_chat_completions_and_responses(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    sdk = client(wired)
    for wire in ("cc", "resp"):
        sdk.chat.completions.create(model=f"{wire}/m", messages=ASK, response_format=SCHEMA)  # type: ignore[arg-type]
    assert last_body(api, "/cc/")["response_format"] == SCHEMA
    text = last_body(api, "/resp/")["text"]
    assert text["format"] == {"type": "json_schema", **SCHEMA["json_schema"]}  # type: ignore[dict-item]


def test_a_json_schema_turn_skips_a_wire_without_it(wired: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(wired).chat.completions.create(
            model="anth/m",
            messages=ASK,  # type: ignore[arg-type]
            response_format=SCHEMA,  # type: ignore[arg-type]
        )
    assert "anth/m cannot take json_schema" in info.value.message


OPTIONS: dict[str, Any] = {
    "temperature": 0.2,
    "top_p": 0.9,
    "stop": ["\n\n"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.25,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "reasoning_effort": "low",
    "service_tier": "auto",
    "user": "household-1",
    "metadata": {"app": "test"},
    "parallel_tool_calls": False,
    "max_completion_tokens": 64,
}


def test_every_option_reaches_chat_completions_in_its_spelling(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    client(wired).chat.completions.create(
        model="cc/m", messages=ASK, tools=[WEATHER_TOOL], tool_choice="required", **OPTIONS
    )
    body = last_body(api, "/cc/")
    for name, value in OPTIONS.items():
        if name == "max_completion_tokens":
            assert value in (body.get("max_tokens"), body.get("max_completion_tokens"))
        else:
            assert body[name] == value, name
    assert body["tool_choice"] == "required"
    assert body["stream"] is False  # a non-streamed call goes upstream non-streamed


def test_options_a_wire_cannot_send_are_dropped_and_reported(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(wired).chat.completions.with_raw_response.create(
        model="anth/m", messages=ASK, seed=7, logit_bias={"1": 1}, extra_body={"bogus": 1}
    )
    dropped = raw.headers["x-clawgate-dropped-params"].split(", ")
    assert {"seed", "logit_bias", "bogus"} <= set(dropped)
    assert raw.parse().model_extra["clawgate"]["dropped"] == dropped  # type: ignore[index]
    body = last_body(api, "/anth/")
    assert not {"seed", "logit_bias", "bogus"} & set(body)


def test_an_unknown_field_is_forwarded_to_chat_completions(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(wired).chat.completions.with_raw_response.create(
        model="cc/m", messages=ASK, extra_body={"prediction": {"type": "content", "content": "x"}}
    )
    assert "x-clawgate-dropped-params" not in raw.headers
    assert last_body(api, "/cc/")["prediction"] == {"type": "content", "content": "x"}


def test_a_bad_value_names_its_param(wired: RunningGateway) -> None:
    answer = httpx.post(
        wired.url + "/v1/chat/completions",
        json={"model": "cc/m", "messages": ASK, "tool_choice": "sometimes"},
        headers={"Authorization": f"Bearer {wired.token}"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"].startswith("tool_choice")


def test_audio_is_refused_naming_the_part(wired: RunningGateway) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(openai.BadRequestError) as info:
        client(wired).chat.completions.create(
            model="cc/m",
            messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}, audio]}],  # type: ignore[list-item]
        )
    assert "messages[0].content[1]" in info.value.message
    assert info.value.param == "messages.0.content.1"


# -- a stream cut after a tool-call delta ----------------------------------------------------


def test_a_stream_cut_after_a_tool_call_delta_ends_with_an_explicit_error(
    wired: RunningGateway, api: FakeModelAPI
) -> None:
    frames = chat_tools.tool_call_frames(CC_CALL)
    api.script(stream(frames.first(2), then="cut"), path="/cc/")
    finishes: list[str] = []
    errors: list[str] = []
    saw_call = False
    with client(wired).chat.completions.create(
        model="cc/m", messages=ASK, tools=[WEATHER_TOOL], stream=True
    ) as chunks:
        try:
            for piece in chunks:
                for choice in piece.choices:
                    saw_call = saw_call or bool(choice.delta.tool_calls)
                    if choice.finish_reason:
                        finishes.append(choice.finish_reason)
        except openai.APIError as exc:  # the SDK raises on the in-band error event
            errors.append(str(exc))
    assert saw_call
    assert finishes == ["error"]
    assert errors
    assert "broke off" in errors[0]
    assert len(api.paths("/cc/")) == 1  # no silent failover once a call was shown

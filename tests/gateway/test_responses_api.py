"""The Responses API (``POST /v1/responses``, ``GET /v1/responses/{id}``) through a real
gateway process, with the official `openai` SDK's ``client.responses`` as the caller: text
answered whole and streamed, a function tool round trip continued by
``previous_response_id`` on each upstream wire (Chat Completions, Responses, Anthropic
Messages) in that wire's own spelling, stored responses, a cut stream and failover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import chat_tools, messages_tools, responses_tools
from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply, chat_frames, chat_json, stream
from tests.gateway.running import RunningGateway, config
from tests.gateway.wired import Clients, last_body, serving, upstream

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather now",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}
ASK = "What is the weather in Paris?"
RESULT = '{"sky": "clear"}'

# The documented order of a streamed text answer.
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def _document(api_url: str) -> dict[str, Any]:
    document = config(api_url)
    sees = {"id": "m", "input": ["text", "image"]}
    document["models"]["providers"].update(
        cc=upstream(api_url, "cc", "openai-completions", sees),
        resp=upstream(api_url, "resp", "openai-responses", sees),
        anth=upstream(api_url, "anth", "anthropic-messages", sees),
        # Failover: each test breaks its own first candidate (health is the module's).
        d1=upstream(api_url, "d1", "openai-completions", sees),
        d2=upstream(api_url, "d2", "openai-completions", sees),
    )
    return document


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    with serving(tmp_path_factory, _model_api, _document(_model_api.url), "responses") as gw:
        yield gw


client = Clients(lambda gateway, token: gateway.client(token))


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    client.close()


def read(events: Any) -> list[Any]:
    """Every event of an SDK stream, the stream closed after."""
    with events:
        return list(events)


# -- text ----------------------------------------------------------------------------------


def test_a_response_names_who_answered(served: RunningGateway, api: FakeModelAPI) -> None:
    raw = client(served).responses.with_raw_response.create(
        model="cc/m", input="Say hello.", instructions="Be brief.", metadata={"app": "test"}
    )
    answer = raw.parse()
    assert answer.id.startswith("resp_")
    assert answer.object == "response"
    assert answer.status == "completed"
    assert answer.model == "cc/m"
    assert answer.output_text == "Hello there"
    message = answer.output[0]
    assert message.type == "message"
    assert message.content[0].type == "output_text"
    assert message.content[0].annotations == []
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (12, 3)
    assert answer.usage.total_tokens == 15
    assert answer.usage.input_tokens_details.cached_tokens == 0
    assert answer.metadata == {"app": "test"}
    assert (answer.model_extra or {})["store"] is True
    assert raw.headers["x-clawgate-model"] == "cc/m"
    assert raw.headers["x-clawgate-fallback"] == "false"
    facts = (answer.model_extra or {})["clawgate"]
    assert facts["turn"] == raw.headers["x-clawgate-turn"] == answer.id.removeprefix("resp_")
    messages = last_body(api, "/cc/")["messages"]
    assert messages[0]["content"] == "Be brief."  # instructions: a system message first
    assert messages[1:] == [{"role": "user", "content": "Say hello."}]


def test_a_streamed_response_in_the_documented_order(served: RunningGateway) -> None:
    events = read(client(served).responses.create(model="cc/m", input="Say hello.", stream=True))
    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "Hello there"
    )
    created, final = events[0].response, events[-1].response
    assert created.id == final.id
    assert created.status == "in_progress"
    assert created.model == final.model == "cc/m"
    assert final.output_text == "Hello there"
    assert final.usage is not None
    assert final.usage.total_tokens == 15
    item = events[2].item
    assert item.id == final.output[0].id == events[-2].item.id


def test_a_length_finish_is_incomplete(served: RunningGateway, api: FakeModelAPI) -> None:
    api.script(Reply(body=chat_json(finish="length")), path="/cc/")
    answer = client(served).responses.create(model="cc/m", input="Go on.", max_output_tokens=3)
    assert answer.status == "incomplete"
    assert answer.incomplete_details is not None
    assert answer.incomplete_details.reason == "max_output_tokens"
    assert last_body(api, "/cc/")["max_tokens"] == 3


# -- a function tool round trip on each wire -----------------------------------------------

CC_CALL = chat_tools.WEATHER
RESP_CALL = responses_tools.CALLS[0]
ANTH_CALL = messages_tools.WEATHER


def _tool_reply(wire: str, streamed: bool) -> Reply:
    """The model's first answer: one call, in the upstream's own tool format."""
    if wire == "cc":
        if streamed:
            return stream(chat_tools.tool_call_frames(CC_CALL).all())
        return Reply(body=chat_tools.tool_call_json(CC_CALL))
    if wire == "resp":
        if streamed:
            return stream(responses_tools.tool_frames((RESP_CALL,)))
        return Reply(body=responses_tools.tool_json((RESP_CALL,)))
    if streamed:
        return stream(messages_tools.tool_frames((ANTH_CALL,), said=()).all())
    return Reply(body=messages_tools.tool_json((ANTH_CALL,), said=""))


def _call(wire: str) -> tuple[str, str, str]:
    if wire == "cc":
        return CC_CALL.id, CC_CALL.name, CC_CALL.arguments
    if wire == "resp":
        return RESP_CALL
    return ANTH_CALL.id, ANTH_CALL.name, json.dumps(ANTH_CALL.input)


def _first_answer(gateway: RunningGateway, model: str, streamed: bool) -> tuple[str, Any]:
    """The first turn, answered by a call: the response's id and its function_call item."""
    sdk = client(gateway)
    if not streamed:
        answer = sdk.responses.create(model=model, input=ASK, tools=[WEATHER])
        return answer.id, answer.output[-1]
    events = read(sdk.responses.create(model=model, input=ASK, tools=[WEATHER], stream=True))
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = events[2].item
    assert added.type == "function_call"
    assert added.arguments == ""
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(pieces) > 1  # streamed in fragments, as the upstream sent them
    final = events[-1].response
    call = final.output[-1]
    assert (added.id, added.call_id, added.name) == (call.id, call.call_id, call.name)
    assert "".join(pieces) == call.arguments == events[-3].arguments
    return final.id, call


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("wire", ["cc", "resp", "anth"])
def test_a_function_tool_round_trip(
    served: RunningGateway, api: FakeModelAPI, wire: str, streamed: bool
) -> None:
    prefix = f"/{wire}/"
    api.script(_tool_reply(wire, streamed), path=prefix)
    first_id, call = _first_answer(served, f"{wire}/m", streamed)
    call_id, name, arguments = _call(wire)
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.status) == (call_id, name, "completed")
    assert json.loads(call.arguments) == json.loads(arguments)
    first = last_body(api, prefix)

    # The result goes back with only the new item; the gateway has the rest stored.
    back = [{"type": "function_call_output", "call_id": call_id, "output": RESULT}]
    sdk = client(served)
    if streamed:
        events = read(
            sdk.responses.create(
                model=f"{wire}/m",
                input=back,  # type: ignore[arg-type]
                previous_response_id=first_id,
                tools=[WEATHER],
                stream=True,
            )
        )
        final = events[-1].response
        assert events[-1].type == "response.completed"
    else:
        final = sdk.responses.create(
            model=f"{wire}/m",
            input=back,  # type: ignore[arg-type]
            previous_response_id=first_id,
            tools=[WEATHER],
        )
    assert final.output_text == "Hello there"
    assert final.previous_response_id == first_id
    second = last_body(api, prefix)
    if wire == "cc":
        assert first["tools"][0]["function"]["name"] == "get_weather"
        assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool"]
        assert second["messages"][0]["content"] == ASK
        assert second["messages"][1]["tool_calls"][0]["id"] == call_id
        assert second["messages"][1]["tool_calls"][0]["function"]["name"] == name
        assert second["messages"][2] == {"role": "tool", "tool_call_id": call_id, "content": RESULT}
    elif wire == "resp":
        assert first["tools"][0]["name"] == "get_weather"  # flat, not under "function"
        kinds = [item.get("type") for item in second["input"]]
        assert kinds == ["message", "function_call", "function_call_output"]
        assert second["input"][1]["call_id"] == call_id
        assert second["input"][2] == {
            "type": "function_call_output",
            "call_id": call_id,
            "output": RESULT,
        }
    else:
        assert first["tools"][0]["input_schema"]["required"] == ["location"]
        assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
        assert second["messages"][1]["content"][-1]["type"] == "tool_use"
        assert second["messages"][1]["content"][-1]["id"] == call_id
        assert second["messages"][1]["content"][-1]["input"] == json.loads(arguments)
        assert second["messages"][2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": call_id,
            "content": RESULT,
        }


# -- stored responses ----------------------------------------------------------------------


def test_a_stored_response_is_fetched_by_its_id(served: RunningGateway) -> None:
    sdk = client(served)
    answer = sdk.responses.create(model="cc/m", input="Say hello.")
    fetched = sdk.responses.retrieve(answer.id)
    assert fetched.id == answer.id
    assert fetched.status == "completed"
    assert fetched.output_text == "Hello there"
    assert fetched.model == "cc/m"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve("resp_unknown")


def test_a_streamed_response_is_stored_too(served: RunningGateway) -> None:
    sdk = client(served)
    events = read(sdk.responses.create(model="cc/m", input="Say hello.", stream=True))
    fetched = sdk.responses.retrieve(events[-1].response.id)
    assert fetched.output_text == "Hello there"


def test_an_unstored_response_cannot_be_fetched_or_continued(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    sdk = client(served)
    answer = sdk.responses.create(model="cc/m", input="Say hello.", store=False)
    assert (answer.model_extra or {})["store"] is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(answer.id)
    asked = len(api.seen)
    with pytest.raises(openai.NotFoundError) as info:
        sdk.responses.create(model="cc/m", input="And then?", previous_response_id=answer.id)
    assert info.value.code == "previous_response_not_found"
    assert isinstance(info.value.body, dict)
    assert info.value.body["param"] == "previous_response_id"
    assert len(api.seen) == asked  # refused before any model was asked


def test_a_conversation_continues_through_every_previous_response(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    sdk = client(served)
    one = sdk.responses.create(model="cc/m", input="One.", instructions="Only here.")
    two = sdk.responses.create(model="cc/m", input="Two.", previous_response_id=one.id)
    sdk.responses.create(model="cc/m", input="Three.", previous_response_id=two.id)
    messages = last_body(api, "/cc/")["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "One."),
        ("assistant", "Hello there"),
        ("user", "Two."),
        ("assistant", "Hello there"),
        ("user", "Three."),
    ]  # the first request's instructions are not carried over


def test_a_responses_own_input_items_are_listed_newest_first(served: RunningGateway) -> None:
    sdk = client(served)
    one = sdk.responses.create(model="cc/m", input="One.")
    items: list[Any] = [
        {"role": "user", "content": [{"type": "input_text", "text": "Look:"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ]
    two = sdk.responses.create(model="cc/m", input=items, previous_response_id=one.id)
    listed = sdk.responses.input_items.list(two.id)
    assert [item.type for item in listed.data] == [
        "function_call_output",
        "function_call",
        "message",
    ]  # only this response's own input, not the one it continued
    ascending = sdk.responses.input_items.list(two.id, order="asc", limit=2)
    assert [item.type for item in ascending.data] == ["message", "function_call"]
    assert ascending.has_more is True
    rest = sdk.responses.input_items.list(two.id, order="asc", after=ascending.data[-1].id)
    assert [item.type for item in rest.data] == ["function_call_output"]
    assert rest.data[0].output == "done"  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.input_items.list(two.id, limit=0)
    assert info.value.body["param"] == "limit"  # type: ignore[index]


def test_a_deleted_response_is_gone(served: RunningGateway) -> None:
    sdk = client(served)
    answer = sdk.responses.create(model="cc/m", input="Say hello.")
    sdk.responses.delete(answer.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(answer.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(answer.id)


# -- failures ------------------------------------------------------------------------------


def test_a_stream_cut_after_output_fails_and_never_completes(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(stream(chat_frames().first(2), then="cut"), path="/x1/")
    events = read(client(served).responses.create(model="x1/m", input="Say hello.", stream=True))
    kinds = [e.type for e in events]
    assert kinds[-1] == "response.failed"
    assert "response.completed" not in kinds
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello"
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error is not None
    assert "broke off" in failed.error.message
    assert failed.error.code == "stream_broken"
    assert len(api.paths("/x1/")) == 1  # nothing retried once text was shown
    stored = client(served).responses.retrieve(failed.id)
    assert stored.status == "failed"


def test_a_failure_before_output_is_an_ordinary_error(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(*[OPENAI["500"]] * 2, path="/s1/")
    with pytest.raises(openai.APIStatusError) as info:
        read(client(served).responses.create(model="s1/m", input="Hi.", stream=True))
    assert info.value.status_code == 502
    assert info.value.response.headers["x-clawgate-turn"]


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_failover_before_the_first_token_is_invisible(
    served: RunningGateway, api: FakeModelAPI, streamed: bool
) -> None:
    first = "d2" if streamed else "d1"
    api.script(*[OPENAI["503"]] * 2, path=f"/{first}/")
    raw = client(served).responses.with_raw_response.create(
        model="clawgate",
        input="Say hello.",
        stream=streamed,
        extra_body={"models": [f"{first}/m", "alt/m"]},
    )
    assert raw.headers["x-clawgate-model"] == "alt/m"
    assert raw.headers["x-clawgate-fallback"] == "true"
    if streamed:
        events = read(raw.parse())
        assert [e.type for e in events] == TEXT_EVENTS
        assert events[0].response.model == "alt/m"
        answer = events[-1].response
    else:
        answer = raw.parse()
    assert answer.model == "alt/m"
    assert answer.output_text == "Hello there"
    assert (answer.model_extra or {})["clawgate"]["fallback"] is True
    assert api.paths(f"/{first}/")


# -- the request ---------------------------------------------------------------------------


def test_a_bad_value_names_its_param(served: RunningGateway) -> None:
    answer = httpx.post(
        served.url + "/v1/responses",
        json={"model": "cc/m", "input": ASK, "tool_choice": "sometimes"},
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["param"], error["type"]) == ("tool_choice", "invalid_request_error")


def test_what_a_wire_cannot_send_is_reported_in_this_apis_names(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(served).responses.with_raw_response.create(
        model="anth/m",
        input=ASK,
        reasoning={"effort": "low"},
        include=["reasoning.encrypted_content"],
        extra_body={"bogus": 1},
    )
    dropped = raw.headers["x-clawgate-dropped-params"].split(", ")
    assert {"reasoning.effort", "include", "bogus"} <= set(dropped)
    assert (raw.parse().model_extra or {})["clawgate"]["dropped"] == dropped
    assert "bogus" not in last_body(api, "/anth/")


def test_an_unknown_field_is_forwarded_to_chat_completions(
    served: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(served).responses.with_raw_response.create(
        model="cc/m", input=ASK, extra_body={"prediction": {"type": "content", "content": "x"}}
    )
    assert "x-clawgate-dropped-params" not in raw.headers
    assert last_body(api, "/cc/")["prediction"] == {"type": "content", "content": "x"}

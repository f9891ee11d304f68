"""``POST /v1/responses``'s body read into a turn: input as a string or items, instructions
first, a continued conversation before the input, tools and options in the conversation
model, and every bad value named by its place."""

from __future__ import annotations

from typing import Any

import pytest

from clawgate.gateway._openai import RequestError
from clawgate.gateway._responses_request import input_messages, parse_request, turn_request
from clawgate.providers import ImagePart, Message, NamedTool, ResponseFormat, TextPart, ToolCall

PNG = "data:image/png;base64,iVBORw0KGgo="


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "cc/m", "input": "hi", **fields}


def refused(document: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as info:
        turn_request(parse_request(document))
    return info.value


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    turn = turn_request(parse_request(body(instructions="Be brief.")))
    assert turn.messages == (Message("system", "Be brief."), Message("user", "hi"))
    assert turn.model == "cc/m"
    assert turn.stream is False


@pytest.mark.parametrize("name", ["clawgate", "default"])
def test_the_default_names_mean_the_chain(name: str) -> None:
    assert turn_request(parse_request(body(model=name))).model is None


def test_items_become_the_conversation_in_order() -> None:
    items = [
        {"role": "developer", "content": "Use tools."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": PNG, "detail": "low"},
            ],
        },
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}],
        },
        {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "g", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": "two"},
    ]
    messages = input_messages(parse_request(body(input=items)))
    assert messages == (
        Message("developer", "Use tools."),
        Message("user", (TextPart("What is this?"), ImagePart(PNG, "low"))),
        Message(
            "assistant",
            (TextPart("Let me look."),),
            tool_calls=(ToolCall("c1", "f", "{}"), ToolCall("c2", "g", '{"x":1}')),
        ),
        Message("tool", "one", tool_call_id="c1"),
        Message("tool", "two", tool_call_id="c2"),
    )


def test_a_call_with_no_message_before_it_is_an_assistant_message_of_its_own() -> None:
    items = [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
    ]
    messages = input_messages(parse_request(body(input=items)))
    assert messages[1] == Message("assistant", "", tool_calls=(ToolCall("c1", "f", "{}"),))


def test_a_continued_conversation_goes_between_the_instructions_and_the_input() -> None:
    history = (Message("user", "before"), Message("assistant", "answer"))
    turn = turn_request(parse_request(body(instructions="Rules.")), history)
    assert [m.text for m in turn.messages] == ["Rules.", "before", "answer", "hi"]


def test_tools_choice_format_and_options_reach_the_conversation_model() -> None:
    turn = turn_request(
        parse_request(
            body(
                tools=[
                    {
                        "type": "function",
                        "name": "get_weather",
                        "description": "Weather",
                        "parameters": {"type": "object"},
                        "strict": True,
                    }
                ],
                tool_choice={"type": "function", "name": "get_weather"},
                parallel_tool_calls=False,
                text={"format": {"type": "json_schema", "name": "w", "schema": {}, "strict": True}},
                reasoning={"effort": "low"},
                max_output_tokens=64,
                temperature=0.2,
                top_p=0.9,
                metadata={"app": "test"},
                user="u1",
                stream=True,
                prompt_cache_key="k",
            )
        )
    )
    o = turn.options
    assert [(t.name, t.description, t.strict) for t in o.tools] == [
        ("get_weather", "Weather", True)
    ]
    assert o.tool_choice == NamedTool("get_weather")
    assert o.parallel_tool_calls is False
    assert o.response_format == ResponseFormat("json_schema", "w", {}, True)
    assert o.reasoning_effort == "low"
    assert (turn.max_tokens, turn.temperature, o.top_p) == (64, 0.2, 0.9)
    assert (o.metadata, o.user, turn.stream) == ({"app": "test"}, "u1", True)
    assert o.extra == {"prompt_cache_key": "k"}  # unknown: kept as sent


def test_known_fields_that_change_nothing_are_named_unsent() -> None:
    parsed = parse_request(body(include=["reasoning.encrypted_content"], truncation="auto"))
    assert parsed.unsent == ("include", "truncation")
    assert parse_request(body()).unsent == ()
    assert parse_request(body()).store is True


def test_tools_other_than_functions_are_left_out_and_named() -> None:
    """What Codex CLI sends by default: its ``namespace`` tool group and the hosted
    ``web_search`` beside its function tools."""
    tools = [
        {"type": "function", "name": "shell", "parameters": {"type": "object"}},
        {"type": "namespace", "name": "multi_agent_v1", "tools": []},
        {"type": "web_search", "external_web_access": False},
        {"type": "web_search"},
    ]
    parsed = parse_request(body(tools=tools, tool_choice={"type": "web_search"}))
    assert [tool.name for tool in turn_request(parsed).options.tools] == ["shell"]
    assert turn_request(parsed).options.tool_choice is None
    assert parsed.unsent == ("tools.namespace:multi_agent_v1", "tools.web_search", "tool_choice")


def test_only_function_tools_leave_nothing_out() -> None:
    tools = [{"type": "function", "name": "f"}]
    assert parse_request(body(tools=tools, tool_choice="auto")).unsent == ()


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": 5}, "input"),
        ({"input": [5]}, "input.0"),
        ({"input": [{"type": "reasoning", "summary": []}]}, "input.0.type"),
        ({"input": [{"role": "robot", "content": "hi"}]}, "input.0.role"),
        ({"input": [{"role": "user", "content": 5}]}, "input.0.content"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input.0.content.0.text",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input.0.content.0",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input.0.content.0.image_url",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input.0.content.0.image_url",
        ),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input.0.arguments"),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input.0.call_id"),
        ({"tools": [{"name": "f"}]}, "tools.0.type"),
        ({"tools": [{"type": "function", "name": "bad name"}]}, "tools.0.name"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"model": ""}, "model"),
    ],
)
def test_a_bad_value_is_named_by_its_place(fields: dict[str, Any], param: str) -> None:
    assert refused(body(**fields)).param == param

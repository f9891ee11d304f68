"""The Responses API's streamed events for a turn's events: the documented order and
numbering, one item per message and per call, the ending of a whole, a cut-short and a failed
answer."""

from __future__ import annotations

from typing import Any

from clawgate.gateway._responses_shapes import Frame
from clawgate.gateway._responses_stream import ResponseEvents, encode
from clawgate.providers import TextDelta, ToolCall, ToolCallDelta, Usage
from clawgate.runtime import Answering, TurnResult

TURN = "t1"
WHO = Answering(TURN, "cc/m", "cc:default", False)


def writer() -> ResponseEvents:
    return ResponseEvents(Frame(TURN, 1700000000, {"store": True}), WHO)


def result(text: str = "", calls: tuple[ToolCall, ...] = (), finish: str = "stop") -> TurnResult:
    return TurnResult(
        TURN, "cc/m", "cc:default", False, text, finish, Usage(10, 5, 4, 1), (), tool_calls=calls
    )


def facts() -> dict[str, Any]:
    return {"turn": TURN}


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_text_then_two_calls_in_the_documented_order() -> None:
    w = writer()
    events = w.opening()
    for piece in (
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallDelta(0, "call_1", "get_weather"),
        ToolCallDelta(0, arguments='{"loc'),
        ToolCallDelta(0, arguments='":"Paris"}'),
        ToolCallDelta(1, "call_2", "get_time", "{}"),
    ):
        events += w.content(piece)
    calls = (
        ToolCall("call_1", "get_weather", '{"loc":"Paris"}'),
        ToolCall("call_2", "get_time", "{}"),
    )
    events += w.finished(result("Let me check.", calls, "tool_calls"), facts())
    assert kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["id"] == "resp_t1"
    assert events[9]["item"] == {
        "type": "function_call",
        "id": "fc_t1_0",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "",
        "status": "in_progress",
    }
    assert events[12]["arguments"] == '{"loc":"Paris"}'
    assert [e["output_index"] for e in events[2:18]] == [0] * 7 + [1] * 5 + [2] * 4
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert [item["id"] for item in final["output"]] == ["msg_t1", "fc_t1_0", "fc_t1_1"]
    assert final["output"][0]["content"][0]["text"] == "Let me check."
    assert final["output"][1]["arguments"] == '{"loc":"Paris"}'
    assert final["usage"] == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 1},
        "total_tokens": 15,
    }
    assert final["clawgate"] == facts()


def test_an_empty_answer_is_one_empty_message() -> None:
    w = writer()
    events = w.opening() + w.finished(result(""), facts())
    assert kinds(events)[2:] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == ""


def test_a_length_finish_is_incomplete_with_its_reason() -> None:
    w = writer()
    events = (
        w.opening()
        + w.content(TextDelta("Once upon"))
        + w.finished(result("Once upon", finish="length"), facts())
    )
    assert events[-1]["type"] == "response.incomplete"
    final = events[-1]["response"]
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_a_cut_answer_fails_with_what_was_sent_and_never_completes() -> None:
    w = writer()
    events = w.opening() + w.content(TextDelta("Hel")) + w.failed("stream_broken", "broke off")
    assert kinds(events)[-2:] == ["response.output_text.delta", "response.failed"]
    final = events[-1]["response"]
    assert final["status"] == "failed"
    assert final["error"] == {"code": "stream_broken", "message": "broke off"}
    assert final["output"][0]["status"] == "incomplete"
    assert final["output"][0]["content"][0]["text"] == "Hel"
    assert final["clawgate"]["error"] == "stream_broken"


def test_each_event_is_sent_with_its_type_as_the_event_name() -> None:
    event = writer().opening()[0]
    raw = encode(event).decode()
    assert raw.startswith("event: response.created\ndata: {")
    assert raw.endswith("\n\n")

"""`clawgate.gateway._openai`: how a bad body is reported (every problem, the first one's
place as ``param``), the error body, the status each failure class answers with, and the
completion, chunk and tool-call shapes of the OpenAI wire."""

from __future__ import annotations

import time
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from clawgate.failures import FailureClass as F
from clawgate.gateway._openai import (
    DEFAULT_MODELS,
    RequestError,
    chunk,
    completion,
    error_body,
    status_for,
    tool_call_delta,
    tool_calls,
    validate,
)
from clawgate.providers import ToolCall, ToolCallDelta, Usage

# -- validate ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Said(_Strict):
    role: Literal["system", "user"]
    content: str


class Body(_Strict):
    """A small request of the same make as the gateway's (strict, nested, bounded)."""

    model: str = Field(min_length=1)
    messages: list[Said] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)


GOOD = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def refusal(document: object, what: str = "") -> RequestError:
    with pytest.raises(RequestError) as caught:
        validate(Body, document, what=what)
    return caught.value


def test_a_valid_body_is_the_model() -> None:
    body = validate(Body, {**GOOD, "temperature": 0.5})
    assert body == Body(model="m", messages=[Said(role="user", content="hi")], temperature=0.5)


def test_an_unknown_field_is_named_and_is_the_param() -> None:
    error = refusal({**GOOD, "logit_bias": {}})
    assert error.message == "unknown field 'logit_bias'"
    assert error.param == "logit_bias"
    assert error.code == "bad_request"


def test_a_nested_unknown_field_is_named_by_its_dotted_place() -> None:
    error = refusal({**GOOD, "messages": [{"role": "user", "content": "x", "audio": None}]})
    assert error.message == "unknown field 'messages.0.audio'"
    assert error.param == "messages.0.audio"


def test_every_problem_is_named_joined_with_semicolons_and_param_is_the_first() -> None:
    error = refusal(
        {
            "model": "m",
            "messages": [{"role": "bot", "content": "x"}],
            "temperature": 3,
            "extra": 1,
        }
    )
    problems = error.message.split("; ")
    assert len(problems) == 3
    assert problems[0] == "messages.0.role: Input should be 'system' or 'user'"
    assert problems[1].startswith("temperature: ")
    assert "less than or equal to 2" in problems[1]
    assert problems[2] == "unknown field 'extra'"
    assert error.param == "messages.0.role"


def test_a_missing_field_is_named() -> None:
    error = refusal({"messages": GOOD["messages"]})
    assert error.message == "model: Field required"
    assert error.param == "model"


def test_a_body_that_is_not_an_object_is_the_body_and_has_no_param() -> None:
    error = refusal(["not", "an", "object"])
    assert error.message.startswith("body: Input should be a valid dictionary")
    assert error.param is None


def test_what_prefixes_the_message_but_not_the_param() -> None:
    error = refusal({**GOOD, "extra": 1}, what="bad probe request: ")
    assert error.message == "bad probe request: unknown field 'extra'"
    assert error.param == "extra"
    assert str(error) == error.message


def test_the_default_model_names() -> None:
    assert frozenset({"clawgate", "default"}) == DEFAULT_MODELS


# -- error bodies and statuses ----------------------------------------------------------------


def test_error_body_is_openais_shape() -> None:
    assert error_body("model: Field required", code="bad_request", param="model") == {
        "error": {
            "message": "model: Field required",
            "type": "invalid_request_error",
            "code": "bad_request",
            "param": "model",
        }
    }
    assert error_body("all models failed", code=None, type_="server_error") == {
        "error": {
            "message": "all models failed",
            "type": "server_error",
            "code": None,
            "param": None,
        }
    }


STATUS = {
    F.BAD_REQUEST: 400,
    F.CONTEXT_OVERFLOW: 400,
    F.CONTENT_FILTER: 400,
    F.MODEL_NOT_FOUND: 404,
    F.RATE_LIMIT: 429,
    F.QUOTA: 429,
    F.AUTH_DEAD: 503,
    F.AUTH_TRANSIENT: 503,
    F.ENTITLEMENT: 503,
    F.BILLING: 503,
    F.UNAVAILABLE: 503,
    F.OVERLOADED: 502,
    F.SERVER_ERROR: 502,
    F.NETWORK: 502,
    F.STREAM_BROKEN: 502,
    F.TIMEOUT: 504,
}


def test_the_status_table_names_every_failure_class() -> None:
    assert set(STATUS) == set(F)


@pytest.mark.parametrize("kind", list(F))
def test_status_for_each_failure_class(kind: F) -> None:
    status = status_for(kind)
    assert status == STATUS[kind]
    assert 400 <= status <= 599


def test_only_problems_of_the_request_or_its_limits_are_4xx() -> None:
    client = {kind for kind in F if status_for(kind) < 500}
    assert client == {
        F.BAD_REQUEST,
        F.CONTEXT_OVERFLOW,
        F.CONTENT_FILTER,
        F.MODEL_NOT_FOUND,
        F.RATE_LIMIT,
        F.QUOTA,
    }


# -- completion and chunk shapes --------------------------------------------------------------


def test_completion_shape() -> None:
    before = int(time.time())
    body = completion("t1", "a/m", "Hello", "stop", Usage(7, 2), {"fallback": False})
    after = int(time.time())
    created = body.pop("created")
    assert isinstance(created, int)
    assert before <= created <= after
    assert body == {
        "id": "chatcmpl-t1",
        "object": "chat.completion",
        "model": "a/m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
        "clawgate": {"fallback": False},
    }


def test_completion_without_usage_says_null() -> None:
    assert completion("t", "m", "", "stop", None, {})["usage"] is None


def test_usage_details_appear_only_when_the_provider_reported_them() -> None:
    usage = Usage(100, 40, cached_tokens=60, reasoning_tokens=30)
    assert completion("t", "m", "x", "stop", usage, {})["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }


def test_a_completion_with_tool_calls_has_null_content_and_the_calls() -> None:
    calls = (ToolCall("call_1", "lookup", '{"q": "x"}'),)
    body = completion("t", "m", "", "tool_calls", None, {}, calls)
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "x"}'},
            }
        ],
    }
    assert body["choices"][0]["finish_reason"] == "tool_calls"


def test_a_chunk_with_a_delta() -> None:
    body = chunk("t1", "a/m", delta={"content": "Hel"})
    assert isinstance(body.pop("created"), int)
    assert body == {
        "id": "chatcmpl-t1",
        "object": "chat.completion.chunk",
        "model": "a/m",
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
    }


def test_the_last_chunk_has_an_empty_delta_and_the_finish_reason() -> None:
    body = chunk("t1", "a/m", finish_reason="stop", clawgate={"model": "a/m"})
    assert body["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert body["clawgate"] == {"model": "a/m"}
    assert "usage" not in body


def test_the_usage_chunk_has_no_choices() -> None:
    body = chunk("t1", "a/m", usage=Usage(3, 4), choices=False)
    assert body["choices"] == []
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert "clawgate" not in body


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            ToolCallDelta(0, id="call_1", name="lookup"),
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"arguments": "", "name": "lookup"},
            },
        ),
        (ToolCallDelta(1, arguments='{"q"'), {"index": 1, "function": {"arguments": '{"q"'}}),
    ],
)
def test_tool_call_delta(event: ToolCallDelta, expected: dict[str, Any]) -> None:
    assert tool_call_delta(event) == expected


def test_tool_calls_keep_their_order() -> None:
    calls = (ToolCall("c1", "a", "{}"), ToolCall("c2", "b", '{"x": 1}'))
    assert [c["id"] for c in tool_calls(calls)] == ["c1", "c2"]
    assert tool_calls(()) == []

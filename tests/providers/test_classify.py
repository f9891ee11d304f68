"""Classification rules on their own: code before status, both body shapes, headers for the
waits, and never the message text when a code is there."""

from __future__ import annotations

import json

import httpx
import pytest

from clawgate.failures import FailureClass as F
from clawgate.providers import Classifier
from clawgate.providers._classify import anthropic_context_overflow

NOW = 1_900_000_000.0
OPENAI = Classifier("openai", "fix it")
ANTHROPIC = Classifier("anthropic", "fix it", anthropic_context_overflow)


def body(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("status", "document", "expected"),
    [
        # The code decides, whatever the status says.
        (400, {"error": {"code": "context_length_exceeded", "type": "x"}}, F.CONTEXT_OVERFLOW),
        (429, {"error": {"code": "insufficient_quota"}}, F.BILLING),
        (429, {"error": {"type": "usage_limit_reached"}}, F.QUOTA),
        (500, {"error": {"type": "overloaded_error"}}, F.OVERLOADED),
        # The RFC 6749 string shape is read too.
        (400, {"error": "invalid_api_key"}, F.AUTH_DEAD),
        # A generic type leaves it to the status.
        (400, {"error": {"type": "invalid_request_error", "code": None}}, F.BAD_REQUEST),
        (401, {"error": {"type": "invalid_request_error"}}, F.AUTH_DEAD),
        (402, {}, F.BILLING),
        (403, {}, F.ENTITLEMENT),
        (404, {}, F.MODEL_NOT_FOUND),
        (409, {}, F.SERVER_ERROR),
        (413, {}, F.BAD_REQUEST),
        (429, {}, F.RATE_LIMIT),
        (500, {}, F.SERVER_ERROR),
        (503, {}, F.OVERLOADED),
        (529, {}, F.OVERLOADED),
    ],
)
def test_code_first_then_status(status: int, document: object, expected: F) -> None:
    assert OPENAI.response(status, {}, body(document), now=NOW).failure.kind is expected


def test_message_text_never_decides_when_a_code_is_present() -> None:
    document = {
        "error": {
            "code": "rate_limit_exceeded",
            "message": "maximum context length exceeded; content policy; model not found",
        }
    }
    assert OPENAI.response(400, {}, body(document), now=NOW).failure.kind is F.RATE_LIMIT


def test_message_text_without_a_code_does_not_decide_either() -> None:
    document = {"error": {"message": "This model's maximum context length is 8192 tokens"}}
    assert OPENAI.response(400, {}, body(document), now=NOW).failure.kind is F.BAD_REQUEST


def test_a_body_that_is_not_json_falls_back_to_the_status() -> None:
    error = OPENAI.response(502, {}, b"<html>Bad Gateway</html>", now=NOW)
    assert error.failure.kind is F.SERVER_ERROR
    assert error.failure.code is None


def test_retry_after_as_an_http_date() -> None:
    headers = {"Retry-After": "Fri, 17 Mar 2030 17:47:00 GMT"}
    error = OPENAI.response(429, headers, b"{}", now=NOW)
    assert error.failure.retry_after is not None
    assert error.failure.retry_after > 0


def test_retry_after_ms_wins() -> None:
    headers = {"retry-after-ms": "1500", "retry-after": "9"}
    assert OPENAI.response(429, headers, b"{}", now=NOW).failure.retry_after == 1.5


@pytest.mark.parametrize(
    ("value", "seconds"), [("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3s", 3723.0)]
)
def test_openai_reset_durations(value: str, seconds: float) -> None:
    error = OPENAI.response(429, {"x-ratelimit-reset-requests": value}, b"{}", now=NOW)
    assert error.failure.resets_at == pytest.approx(NOW + seconds)


def test_the_latest_of_several_resets_is_kept() -> None:
    headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "30s"}
    assert OPENAI.response(429, headers, b"{}", now=NOW).failure.resets_at == NOW + 30


def test_resets_in_seconds_counts_from_the_injected_now() -> None:
    document = {"error": {"type": "usage_limit_reached", "resets_in_seconds": 60}}
    assert OPENAI.response(429, {}, body(document), now=NOW).failure.resets_at == NOW + 60


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("prompt is too long: 210000 tokens > 200000 maximum", F.CONTEXT_OVERFLOW),
        # The documented sentence only, in full: a mention elsewhere is not it.
        ("your prompt is too long: 210000 tokens > 200000 maximum, and", F.BAD_REQUEST),
        ("max_tokens: 100000 > 64000, which is the maximum", F.BAD_REQUEST),
    ],
)
def test_anthropic_context_overflow_is_its_one_fixed_sentence(message: str, expected: F) -> None:
    document = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    assert ANTHROPIC.response(400, {}, body(document), now=NOW).failure.kind is expected


def test_that_sentence_under_another_code_does_not_count() -> None:
    message = "prompt is too long: 210000 tokens > 200000 maximum"
    document = {"type": "error", "error": {"type": "rate_limit_error", "message": message}}
    assert ANTHROPIC.response(400, {}, body(document), now=NOW).failure.kind is F.RATE_LIMIT


@pytest.mark.parametrize(
    ("exc", "answered", "expected", "phase"),
    [
        (httpx.ConnectTimeout("t"), False, F.TIMEOUT, "connect"),
        (httpx.PoolTimeout("t"), False, F.TIMEOUT, "connect"),
        (httpx.ConnectError("refused"), False, F.NETWORK, None),
        (httpx.RemoteProtocolError("closed"), False, F.NETWORK, None),
        (httpx.ReadError("reset"), True, F.STREAM_BROKEN, None),
        (httpx.RemoteProtocolError("incomplete chunked read"), True, F.STREAM_BROKEN, None),
    ],
)
def test_transport_exceptions(
    exc: httpx.TransportError, answered: bool, expected: F, phase: str | None
) -> None:
    error = OPENAI.exception(exc, answered=answered)
    assert (error.failure.kind, error.failure.phase) == (expected, phase)


def test_every_failure_names_the_provider_and_keeps_its_words() -> None:
    document = {"error": {"code": "model_not_found", "message": "The model `gpt-9` does not exist"}}
    error = OPENAI.response(404, {"x-request-id": "req_1"}, body(document), now=NOW)
    assert str(error).startswith("openai answered 404 (model_not_found): The model `gpt-9`")
    assert error.failure.request_id == "req_1"
    assert error.fix is not None
    assert "baseUrl" in error.fix

"""Every way a call fails lands in one class of the taxonomy, for every provider: the
documented error answers (by code first, status second, headers for the waits), and the
network's own failures (reset, silence, a cut or stalled stream, garbage inside a stream)."""

from __future__ import annotations

import logging

import pytest

from clawgate.errors import Failed
from clawgate.failures import FailureClass as F
from clawgate.providers import Completed, ModelRequest, StreamEvent, TextDelta
from tests.canary import CANARY
from tests.fakes.model_api import (
    ANTHROPIC,
    CODEX,
    COPILOT,
    OPENAI,
    RESET,
    SILENT,
    FakeModelAPI,
    Frames,
    Reply,
    chat_frames,
    messages_frames,
    responses_frames,
    sse,
    stream,
    unreachable,
)
from tests.providers.conftest import CASES, HELLO, NOW, WIRE, Harness

pytestmark = pytest.mark.anyio

DOCUMENTED = {
    "openai": OPENAI,
    "openai-responses": OPENAI,
    "openai-codex": CODEX,
    "anthropic": ANTHROPIC,
    "github-copilot": COPILOT,
}

EXPECTED = {
    "context": F.CONTEXT_OVERFLOW,
    "content_policy": F.CONTENT_FILTER,
    "unauthorized": F.AUTH_DEAD,
    "forbidden": F.ENTITLEMENT,
    "model": F.MODEL_NOT_FOUND,
    "rate_limit_retry_after": F.RATE_LIMIT,
    "rate_limit": F.RATE_LIMIT,
    "500": F.SERVER_ERROR,
    "502": F.SERVER_ERROR,
    "503": F.OVERLOADED,
    "529": F.OVERLOADED,
}
# A used-up allowance: a subscription's window is quota, a metered account's credit is billing.
USAGE_LIMIT = {
    "openai": F.BILLING,
    "openai-responses": F.BILLING,
    "openai-codex": F.QUOTA,
    "anthropic": F.BILLING,
    "github-copilot": F.QUOTA,
}


def frames(case: str) -> Frames:
    return {"chat": chat_frames, "responses": responses_frames, "messages": messages_frames}[
        WIRE[case]
    ]()


async def collect(
    harness: Harness, case: str, **timeouts: float
) -> tuple[list[StreamEvent], Failed]:
    events: list[StreamEvent] = []
    provider = harness.provider(case, **timeouts)
    try:
        async for event in provider.stream(ModelRequest("m-1", HELLO), harness.access(case)):
            events.append(event)
    except Failed as exc:
        return events, exc
    finally:
        await provider.aclose()
    pytest.fail(f"the call did not fail; it gave {events}")


def _documented() -> list[tuple[str, str]]:
    return [
        (case, name)
        for case in sorted(CASES)
        for name in [*EXPECTED, "usage_limit"]
        if name in DOCUMENTED[case]
    ]


@pytest.mark.parametrize(("case", "name"), _documented())
async def test_documented_error_answers_are_classified(
    harness: Harness, api: FakeModelAPI, case: str, name: str, logs: pytest.LogCaptureFixture
) -> None:
    reply = DOCUMENTED[case][name]
    api.script(reply, reply)  # a 401 is retried once, after the broker had its say
    events, error = await collect(harness, case)
    expected = USAGE_LIMIT[case] if name == "usage_limit" else EXPECTED[name]
    assert events == []
    assert error.failure.kind is expected
    assert error.code == expected.value
    if name != "unauthorized":  # for a key, the broker answers the second 401 itself
        assert error.failure.status == reply.status
    if expected is F.AUTH_DEAD:
        assert error.fix is not None
        assert "clawgate models auth" in error.fix
    assert CANARY not in logs.text
    assert CANARY not in str(error)


@pytest.mark.parametrize("case", ["openai", "anthropic"])
async def test_retry_after_is_read_and_kept_apart_from_the_reset_time(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(DOCUMENTED[case]["rate_limit_retry_after"])
    _, error = await collect(harness, case)
    assert error.failure.retry_after == 7.0
    assert error.failure.resets_at is not None


@pytest.mark.parametrize("case", ["openai", "anthropic"])
async def test_without_retry_after_the_rate_limit_reset_headers_give_the_reset(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(DOCUMENTED[case]["rate_limit"])
    _, error = await collect(harness, case)
    assert error.failure.retry_after is None
    assert error.failure.resets_at is not None
    if case == "openai":  # x-ratelimit-reset-tokens: 6m0s
        assert error.failure.resets_at == NOW + 360


async def test_chatgpt_usage_limit_is_quota_with_its_reset_time(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(CODEX["usage_limit"])
    _, error = await collect(harness, "openai-codex")
    assert error.failure.kind is F.QUOTA
    assert error.failure.code == "usage_limit_reached"
    assert error.failure.resets_at == 1900007200
    assert error.fix is not None
    assert "login" not in error.fix


async def test_chatgpt_plan_without_the_model_is_entitlement_not_a_login(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(CODEX["forbidden"])
    _, error = await collect(harness, "openai-codex")
    assert error.failure.kind is F.ENTITLEMENT
    assert error.failure.code == "usage_not_included"


async def test_anthropic_request_id_is_kept(harness: Harness, api: FakeModelAPI) -> None:
    api.script(ANTHROPIC["context"])
    _, error = await collect(harness, "anthropic")
    assert error.failure.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


async def test_a_copilot_401_renews_the_copilot_token_once_then_gives_up(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(COPILOT["unauthorized"], COPILOT["unauthorized"])
    _, error = await collect(harness, "github-copilot")
    assert error.failure.kind is F.AUTH_DEAD
    first, second = api.seen[-2:]
    assert first.headers["authorization"] != second.headers["authorization"]


# -- the network's failures, for every provider -------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
async def test_connection_reset_before_headers_is_network(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(RESET)
    events, error = await collect(harness, case)
    assert events == []
    assert error.failure.kind is F.NETWORK


@pytest.mark.parametrize("case", sorted(CASES))
async def test_connection_refused_is_network(harness: Harness, case: str) -> None:
    provider = harness.provider(case, base_url="http://127.0.0.1:9")
    with pytest.raises(Failed) as failure:
        await harness.run(case, provider=provider)
    assert failure.value.failure.kind is F.NETWORK


@pytest.mark.parametrize("case", sorted(CASES))
async def test_no_connection_within_the_connect_timeout(harness: Harness, case: str) -> None:
    with unreachable() as url:
        provider = harness.provider(case, base_url=url, connect=0.3)
        with pytest.raises(Failed) as failure:
            await harness.run(case, provider=provider)
    assert failure.value.failure.kind is F.TIMEOUT
    assert failure.value.failure.phase == "connect"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_no_answer_within_the_first_token_timeout(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(SILENT)
    events, error = await collect(harness, case, firstToken=0.3)
    assert events == []
    assert error.failure.kind is F.TIMEOUT
    assert error.failure.phase == "first_token"
    assert error.fix is not None
    assert "firstToken" in error.fix


@pytest.mark.parametrize("case", sorted(CASES))
async def test_headers_and_keepalives_without_a_token_still_hit_the_first_token_timeout(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(frames(case).first(0), then="stall"))
    events, error = await collect(harness, case, firstToken=0.3)
    assert events == []
    assert error.failure.phase == "first_token"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_stream_cut_after_some_tokens_is_broken(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(frames(case).first(2), then="cut"))
    events, error = await collect(harness, case)
    assert events == [TextDelta("Hel"), TextDelta("lo")]
    assert error.failure.kind is F.STREAM_BROKEN


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_stream_that_stalls_after_some_tokens_hits_the_idle_timeout(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(frames(case).first(2), then="stall"))
    events, error = await collect(harness, case, idle=0.3)
    assert events == [TextDelta("Hel"), TextDelta("lo")]
    assert (error.failure.kind, error.failure.phase) == (F.TIMEOUT, "idle")


async def test_a_trickle_that_never_finishes_hits_the_total_timeout(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(stream(chat_frames().first(1), then="stall"))
    events, error = await collect(harness, "openai", idle=30, total=0.4)
    assert events == [TextDelta("Hel")]
    assert (error.failure.kind, error.failure.phase) == (F.TIMEOUT, "total")


@pytest.mark.parametrize("case", sorted(CASES))
async def test_one_malformed_event_is_skipped_and_logged(
    harness: Harness, api: FakeModelAPI, case: str, logs: pytest.LogCaptureFixture
) -> None:
    api.script(stream(frames(case).with_malformed()))
    events = await harness.run(case)
    assert events[:-1] == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" there")]
    assert isinstance(events[-1], Completed)
    skipped = [r for r in logs.records if "malformed stream event" in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.WARNING


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_stream_that_ends_without_finishing_is_broken_not_complete(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream(frames(case).first(3)))  # a clean end of the body, no finish at all
    events, error = await collect(harness, case)
    assert events == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" there")]
    assert error.failure.kind is F.STREAM_BROKEN
    assert "incomplete" in error.message


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_200_that_is_not_an_event_stream_is_broken(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(Reply(body=b"<html>captive portal</html>", headers={"content-type": "text/html"}))
    events, error = await collect(harness, case)
    assert events == []
    assert error.failure.kind is F.STREAM_BROKEN


ERROR_EVENTS = {
    "anthropic": sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "error",
    ),
    "openai-responses": sse(
        {
            "type": "response.failed",
            "response": {
                "status": "failed",
                "error": {"code": "server_error", "message": "The model failed."},
            },
        },
        "response.failed",
    ),
    "openai-codex": sse(
        {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": None},
        "error",
    ),
    "openai": sse({"error": {"message": "overloaded", "type": "server_error", "code": None}}),
}
ERROR_EVENT_CLASS = {
    "anthropic": F.OVERLOADED,
    "openai-responses": F.SERVER_ERROR,
    "openai-codex": F.RATE_LIMIT,
    "openai": F.SERVER_ERROR,
}


@pytest.mark.parametrize("case", sorted(ERROR_EVENTS))
async def test_an_error_sent_inside_the_stream_is_classified_by_its_code(
    harness: Harness, api: FakeModelAPI, case: str
) -> None:
    api.script(stream([*frames(case).first(1), ERROR_EVENTS[case]]))
    events, error = await collect(harness, case)
    assert events == [TextDelta("Hel")]
    assert error.failure.kind is ERROR_EVENT_CLASS[case]

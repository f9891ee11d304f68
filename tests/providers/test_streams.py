"""Each provider's documented success answer, streamed and not, becomes the same normalized
events; each sends its own headers and body, and no credential reaches a log line."""

from __future__ import annotations

import pytest

from clawgate.providers import Completed, ModelRequest, TextDelta, Usage
from tests.canary import CANARY
from tests.fakes.model_api import FakeModelAPI, Reply, messages_json, stream
from tests.providers.conftest import ACCOUNT, CASES, HELLO, SETUP_TOKEN, Harness

pytestmark = pytest.mark.anyio

# What each fake's documented stream reports: the model that answered, and the token counts.
ANSWERED = {
    "openai": ("gpt-4.1-mini-2025-04-14", Usage(12, 3)),
    "openai-responses": ("gpt-4.1-2025-04-14", Usage(20, 3)),
    "openai-codex": ("gpt-5-codex", Usage(20, 3)),
    "anthropic": ("claude-sonnet-4-5-20250929", Usage(25, 15)),
    "github-copilot": ("gpt-4.1-mini-2025-04-14", Usage(12, 3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_streamed_answer_becomes_deltas_then_one_completed(
    harness: Harness, case: str, logs: pytest.LogCaptureFixture
) -> None:
    events = await harness.run(case)
    assert events[:-1] == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" there")]
    model, usage = ANSWERED[case]
    final = events[-1]
    assert isinstance(final, Completed)
    assert (final.finish_reason, final.model, final.usage) == ("stop", model, usage)
    assert CANARY not in logs.text
    assert "HTTP Request: POST" in logs.text  # httpx did log the request, without the key


@pytest.mark.parametrize("case", sorted(set(CASES) - {"openai-codex"}))
async def test_an_unstreamed_answer_gives_the_same_events(harness: Harness, case: str) -> None:
    events = await harness.run(case, ModelRequest("m-1", HELLO, stream=False))
    assert events[:-1] == [TextDelta("Hello there")]
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.finish_reason == "stop"
    assert final.usage is not None
    assert harness.api.seen[-1].body["stream"] is False


async def test_the_chatgpt_backend_is_always_streamed(harness: Harness) -> None:
    events = await harness.run("openai-codex", ModelRequest("gpt-5-codex", HELLO, stream=False))
    assert isinstance(events[-1], Completed)
    assert harness.api.seen[-1].body["stream"] is True


async def test_openai_sends_the_key_as_bearer_and_asks_for_usage(harness: Harness) -> None:
    request = ModelRequest("gpt-4.1-mini", HELLO, max_tokens=64, temperature=0.2)
    await harness.run("openai", request)
    seen = harness.api.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/v1/chat/completions")
    assert seen.headers["authorization"] == f"Bearer {CANARY}"
    assert seen.headers["user-agent"].startswith("clawgate/")
    assert seen.body == {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_completion_tokens": 64,  # OpenAI's spelling; other servers get max_tokens
        "temperature": 0.2,
    }


async def test_openai_responses_api_puts_system_text_in_instructions(harness: Harness) -> None:
    from clawgate.providers import Message

    request = ModelRequest(
        "gpt-4.1",
        (Message("system", "Be brief."), *HELLO, Message("assistant", "Hi"), *HELLO),
        max_tokens=32,
    )
    await harness.run("openai-responses", request)
    seen = harness.api.seen[-1]
    assert seen.path == "/v1/responses"
    assert seen.body["instructions"] == "Be brief."
    assert [m["role"] for m in seen.body["input"]] == ["user", "assistant", "user"]
    assert seen.body["input"][1]["content"] == [{"type": "output_text", "text": "Hi"}]
    assert seen.body["max_output_tokens"] == 32
    assert seen.body["store"] is False


async def test_chatgpt_backend_headers_and_body(harness: Harness) -> None:
    request = ModelRequest("gpt-5-codex", HELLO, max_tokens=99, session_id="sess-1")
    await harness.run("openai-codex", request)
    seen = harness.api.seen[-1]
    assert seen.path == "/backend-api/codex/responses"
    h = seen.headers
    assert h["authorization"].startswith("Bearer ey")
    assert h["chatgpt-account-id"] == ACCOUNT
    assert h["openai-beta"] == "responses=experimental"
    assert h["originator"] == "clawgate"
    assert h["session_id"] == "sess-1"
    assert h["accept"] == "text/event-stream"
    # The backend refuses output limits and sampling settings; it needs instructions.
    assert "max_output_tokens" not in seen.body
    assert seen.body["instructions"]
    assert seen.body["stream"] is True


async def test_chatgpt_backend_gets_a_fresh_session_id_when_none_is_given(
    harness: Harness,
) -> None:
    await harness.run("openai-codex")
    await harness.run("openai-codex")
    first, second = (s.headers["session_id"] for s in harness.api.seen[-2:])
    assert first != second


async def test_anthropic_api_key_goes_in_x_api_key(harness: Harness) -> None:
    from clawgate.providers import Message

    await harness.run("anthropic", ModelRequest("claude-x", (Message("system", "Terse."), *HELLO)))
    seen = harness.api.seen[-1]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == CANARY
    assert "authorization" not in seen.headers
    assert "anthropic-beta" not in seen.headers
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body["system"] == "Terse."
    assert seen.body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert seen.body["max_tokens"] == 4096  # required by the API; ours when the caller has none


async def test_anthropic_setup_token_goes_as_bearer_with_the_oauth_beta(harness: Harness) -> None:
    from clawgate.auth import Access

    provider = harness.provider("anthropic")
    access = Access(harness.broker, "anthropic:setup")
    events = [e async for e in provider.stream(ModelRequest("claude-x", HELLO), access)]
    await provider.aclose()
    assert isinstance(events[-1], Completed)
    seen = harness.api.seen[-1]
    assert seen.headers["authorization"] == f"Bearer {SETUP_TOKEN}"
    assert seen.headers["anthropic-beta"] == "oauth-2025-04-20"
    assert "x-api-key" not in seen.headers


async def test_copilot_uses_the_short_lived_token_and_its_editor_headers(
    harness: Harness,
) -> None:
    await harness.run("github-copilot")
    seen = harness.api.seen[-1]
    assert seen.path == "/chat/completions"
    assert seen.headers["authorization"].startswith("Bearer tid=1;exp=")
    assert seen.headers["copilot-integration-id"] == "vscode-chat"
    assert seen.headers["editor-version"].startswith("clawgate/")
    assert seen.headers["openai-intent"] == "conversation-panel"


async def test_anthropic_refusal_is_a_content_filter_finish(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(Reply(body=messages_json(("I can't help with that.",), stop_reason="refusal")))
    events = await harness.run("anthropic", ModelRequest("claude-x", HELLO, stream=False))
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.finish_reason == "content_filter"


async def test_a_clean_end_after_the_finish_without_done_is_complete_with_usage(
    harness: Harness, api: FakeModelAPI
) -> None:
    from tests.fakes.model_api import chat_frames

    api.script(stream(chat_frames().without_terminal()))
    events = await harness.run("openai")
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.usage == Usage(12, 3)


async def test_the_request_id_header_wins_over_the_answer_id(
    harness: Harness, api: FakeModelAPI
) -> None:
    from tests.fakes.model_api import chat_frames

    events = await harness.run("openai")
    first = events[-1]
    api.script(stream(chat_frames().all(), x_request_id="req_5c1a"))
    events = await harness.run("openai")
    second = events[-1]
    assert isinstance(first, Completed)
    assert isinstance(second, Completed)
    assert first.request_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert second.request_id == "req_5c1a"

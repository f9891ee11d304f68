"""A real OpenClaw turn through a real gateway process: the Chat Completions body that OpenClaw
sends its model (captured by `scripts/capture_openclaw_request.py`; version and command in
`tests/fixtures/openclaw_chat_request.meta.json`) is accepted, and reaches a Chat Completions
upstream with its tools, tool choice and conversation intact and nothing dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.model_api import PARTS, FakeModelAPI
from tests.gateway.running import RunningGateway

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = "up/m"  # an `openai-completions` provider of the test config, at /up/ on the fake
# What the gateway may report as dropped (x-clawgate-dropped-params) on its way to MODEL: a
# Chat Completions upstream takes every field of OpenAI's request, so nothing.
EXPECTED_DROPPED: frozenset[str] = frozenset()


def _load(name: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / name).read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def captured() -> dict[str, Any]:
    return _load("openclaw_chat_request.json")


def test_the_fixture_is_a_whole_openclaw_turn(captured: dict[str, Any]) -> None:
    """Guards the test below against a re-capture that lost what it is about."""
    meta = _load("openclaw_chat_request.meta.json")
    assert meta["openclaw"]
    assert meta["captured"]
    assert meta["command"].startswith("openclaw agent")
    assert captured["tools"]
    assert all(tool["type"] == "function" for tool in captured["tools"])
    assert "tool_choice" in captured
    assert captured["messages"][0]["role"] == "system"
    assert captured["messages"][-1]["role"] == "user"
    assert "sk-capture-dummy" not in json.dumps(captured)


def _answer_text(raw: bytes, streamed: bool) -> str:
    """The assistant's text from a gateway answer, streamed (SSE) or JSON."""
    if not streamed:
        return str(json.loads(raw)["choices"][0]["message"]["content"])
    events = [
        line[len("data: ") :] for line in raw.decode().splitlines() if line.startswith("data: ")
    ]
    assert events[-1] == "[DONE]"
    text = ""
    for event in events[:-1]:
        for choice in json.loads(event).get("choices", []):
            text += choice.get("delta", {}).get("content") or ""
    return text


def test_an_openclaw_request_reaches_chat_completions_intact(
    gateway: RunningGateway, api: FakeModelAPI, captured: dict[str, Any]
) -> None:
    streamed = bool(captured.get("stream"))
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        json={**captured, "model": MODEL},
        headers={"Authorization": f"Bearer {gateway.token}"},
        timeout=30,
    ) as answer:
        raw = answer.read()
    assert answer.status_code == 200, raw[:2000]
    assert answer.headers["x-clawgate-model"] == MODEL
    dropped = answer.headers.get("x-clawgate-dropped-params", "")
    assert {name for name in dropped.split(", ") if name} <= EXPECTED_DROPPED
    assert _answer_text(raw, streamed) == "".join(PARTS)

    upstream = api.paths("/up/")[-1].body
    assert isinstance(upstream, dict)
    # Every tool, in order, with its name, description and JSON schema unchanged.
    assert len(upstream["tools"]) == len(captured["tools"])
    for sent, tool in zip(upstream["tools"], captured["tools"], strict=True):
        assert sent["type"] == "function"
        for field in ("name", "description", "parameters"):
            assert sent["function"][field] == tool["function"][field], (
                tool["function"]["name"],
                field,
            )
    assert upstream["tool_choice"] == captured["tool_choice"]
    assert [m["role"] for m in upstream["messages"]] == [m["role"] for m in captured["messages"]]
    # The system prompt (OpenClaw's whole tool and workspace guide) arrives word for word.
    assert upstream["messages"][0]["content"] == captured["messages"][0]["content"]
    assert upstream["stream"] is streamed
    limit = captured["max_completion_tokens"]
    assert limit in (upstream.get("max_tokens"), upstream.get("max_completion_tokens"))

"""A client that hangs up cancels its turn, on every surface, through a real uvicorn: the
upstream request is closed (the fake upstream sees its connection end), the decision record
says ``client_gone``, no tokens are charged and the fallback never runs. Streamed turns end
the same way, before their first text and after it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from clawgate.state import TurnRecord
from tests.fakes.holding import HoldingAPI
from tests.fakes.model_api import FakeModelAPI, chat_frames
from tests.gateway.inprocess import TOKEN, Local, local_gateway
from tests.gateway.running import config
from tests.gateway.served import Served, served

pytestmark = pytest.mark.anyio

BOUND = 10.0  # seconds: a safety net for a broken test, never waited out when all is well
HELLO = [{"role": "user", "content": "Say hello."}]

SURFACES = [
    pytest.param("/v1/chat/completions", {"messages": HELLO}, id="chat-completions"),
    pytest.param("/v1/responses", {"input": "Say hello."}, id="responses"),
    pytest.param("/v1/messages", {"max_tokens": 64, "messages": HELLO}, id="messages"),
    pytest.param("/v1/embeddings", {"input": "Say hello."}, id="embeddings"),
]


def document(api: FakeModelAPI, hold: HoldingAPI) -> dict[str, Any]:
    """The tests' config, with a chain whose primary never answers and whose fallback
    would."""
    doc = config(api.url)
    doc["models"]["providers"]["hold"] = {
        "api": "openai-completions",
        "baseUrl": f"{hold.url}/v1",
        "auth": "none",
        "timeouts": {"connect": 5, "firstToken": 60, "idle": 60, "total": 120},
    }
    defaults = doc.setdefault("agents", {}).setdefault("defaults", {})
    defaults["model"] = {"primary": "hold/m", "fallbacks": ["up/m"]}
    defaults["embeddings"] = {"primary": "hold/e"}
    return doc


def post(path: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {TOKEN}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def happened(event: threading.Event) -> bool:
    """Whether the fake's thread sets ``event`` (within `BOUND`)."""
    return await anyio.to_thread.run_sync(event.wait, BOUND)


def serving(
    tmp_path: Path, api: FakeModelAPI, hold: HoldingAPI
) -> AbstractAsyncContextManager[Local]:
    return local_gateway(tmp_path / "state", api, document(api, hold))


@pytest.fixture
def hold() -> Iterator[HoldingAPI]:
    with HoldingAPI() as upstream:
        yield upstream


async def hang_up_when_asked(server: Served, hold: HoldingAPI, path: str, body: Any) -> None:
    """Send the request, wait until the upstream has it, and hang up; then wait until the
    gateway's request has ended."""
    client = await server.connect()
    await client.send(post(path, body))
    assert await happened(hold.arrived)
    await client.aclose()
    assert await happened(hold.hung_up), "the upstream request stayed open"
    with anyio.fail_after(BOUND):
        assert await server.ended.receive() == path


def the_turn(local: Local) -> TurnRecord:
    (turn,) = local.gateway.state.decisions.last(10)
    return turn


def assert_gone(local: Local, api: FakeModelAPI, candidate: str) -> TurnRecord:
    turn = the_turn(local)
    assert (turn.outcome, turn.failure, turn.model) == ("client_gone", "client_gone", None)
    # The attempt in flight is the last step; the fallback after it never ran.
    assert [(a.candidate, a.decision, a.reason) for a in turn.attempts] == [
        (candidate, "client_gone", "client_gone")
    ]
    assert turn.attempts[0].end_ms is not None
    assert local.gateway.state.usage.for_turn(turn.turn_id) == []
    assert api.seen == []  # nothing was asked of the fallback's upstream
    assert local.gateway.runtimes.leases(local.gateway.runtime) == 0
    return turn


@pytest.mark.parametrize(("path", "fields"), SURFACES)
async def test_a_client_that_hangs_up_cancels_its_non_streamed_turn(
    tmp_path: Path, api: FakeModelAPI, hold: HoldingAPI, path: str, fields: dict[str, Any]
) -> None:
    async with (
        serving(tmp_path, api, hold) as local,
        served(local.app, local.gateway.config.settings) as server,
    ):
        await hang_up_when_asked(server, hold, path, {"model": "clawgate", **fields})
        assert_gone(local, api, "hold/e" if path == "/v1/embeddings" else "hold/m")
        (asked,) = hold.seen
        if path != "/v1/embeddings":
            assert asked[1]["stream"] is False  # one JSON answer was asked for
        # The server goes on answering: a good request on a model that answers.
        async with httpx.AsyncClient(base_url=server.url, headers=auth()) as http:
            answer = await http.post(
                "/v1/chat/completions", json={"model": "up/m", "messages": HELLO}
            )
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"] == "Hello there"
        assert [t.outcome for t in local.gateway.state.decisions.last(10)] == [
            "client_gone",
            "succeeded",
        ]
        assert server.errors == []


async def test_a_streamed_turn_whose_client_hangs_up_before_any_text_ends_the_same_way(
    tmp_path: Path, api: FakeModelAPI, hold: HoldingAPI
) -> None:
    body = {"model": "clawgate", "messages": HELLO, "stream": True}
    async with (
        serving(tmp_path, api, hold) as local,
        served(local.app, local.gateway.config.settings) as server,
    ):
        await hang_up_when_asked(server, hold, "/v1/chat/completions", body)
        turn = assert_gone(local, api, "hold/m")
        assert turn.attempts[0].first_token_ms is None
        assert server.errors == []


async def test_a_streamed_turn_whose_client_hangs_up_after_its_first_text_is_closed(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    body = {"model": "clawgate", "messages": HELLO, "stream": True}
    with HoldingAPI(frames=chat_frames().first(1)) as hold:
        async with (
            serving(tmp_path, api, hold) as local,
            served(local.app, local.gateway.config.settings) as server,
        ):
            client = await server.connect()
            await client.send(post("/v1/chat/completions", body))
            received = b""
            with anyio.fail_after(BOUND):
                while b'"content": "Hel"' not in received:
                    received += await client.receive()
            assert received.startswith(b"HTTP/1.1 200 ")
            await client.aclose()
            assert await happened(hold.hung_up), "the upstream stream stayed open"
            with anyio.fail_after(BOUND):
                assert await server.ended.receive() == "/v1/chat/completions"
            turn = assert_gone(local, api, "hold/m")
            assert turn.attempts[0].first_token_ms is not None  # it had begun to answer
            assert server.errors == []


def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {TOKEN}"}

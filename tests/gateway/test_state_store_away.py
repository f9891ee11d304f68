"""A real gateway process on the PostgreSQL state backend, its database stopped mid-traffic
and started again: turns get a clear 503 naming the state store in each surface's shape (with
``Retry-After``), ``/healthz`` and the control status say so, and the gateway recovers by
itself, with nothing lost or written twice. Its own server (tests/postgres.py), since the
session's is shared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, config, start_gateway
from tests.postgres import PostgresServer, running_postgres


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    with running_postgres() as own:
        yield own


@pytest.fixture
def gateway(tmp_path: Path, api: FakeModelAPI, server: PostgresServer) -> Iterator[RunningGateway]:
    url = server.database()
    running = start_gateway(
        tmp_path / "state",
        api,
        environ={"CLAWGATE_DATABASE_URL": url},
        document={**config(api.url), "state": {"backend": "postgres"}},
    )
    running.env["CLAWGATE_DATABASE_URL"] = url
    try:
        yield running
    finally:
        running.stop()


def turns(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT outcome FROM turns ORDER BY rowid")]


def ask_messages(gateway: RunningGateway) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/messages",
        headers={"x-api-key": gateway.token, "anthropic-version": "2023-06-01"},
        json={"model": "up/m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def control_status(gateway: RunningGateway) -> dict[str, object]:
    answer = httpx.get(
        f"{gateway.url}/control/status",
        headers={"authorization": f"Bearer {gateway.token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    store: dict[str, object] = answer.json()["stateStore"]
    return store


def test_turns_get_503_while_the_database_is_away_and_work_again_after(
    gateway: RunningGateway, server: PostgresServer
) -> None:
    url = gateway.env["CLAWGATE_DATABASE_URL"]
    assert gateway.chat("up/m").status_code == 200
    gateway.records_written()  # written behind the answer
    assert turns(url) == ["succeeded"]
    store = control_status(gateway)
    assert (store["backend"], store["ok"]) == ("postgres", True)
    assert "password" not in str(store["where"])
    assert httpx.get(f"{gateway.url}/healthz").json() == {"ok": True}

    server.stop()
    away = gateway.chat("up/m")
    assert away.status_code == 503, away.text
    assert away.headers["retry-after"] == "5"
    error = away.json()["error"]
    assert error["code"] == "state_store_unavailable"
    assert error["type"] == "api_error"
    assert "state store" in error["message"]
    assert "CLAWGATE_DATABASE_URL" in error["message"]  # the fix is named

    streamed = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {gateway.token}"},
        json={"model": "up/m", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert streamed.status_code == 503, streamed.text  # refused before the stream starts
    assert streamed.json()["error"]["code"] == "state_store_unavailable"

    anthropic_shaped = ask_messages(gateway)
    assert anthropic_shaped.status_code == 503
    assert anthropic_shaped.headers["retry-after"] == "5"
    body = anthropic_shaped.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "state store" in body["error"]["message"]

    health = httpx.get(f"{gateway.url}/healthz")
    assert health.status_code == 503
    assert health.json() == {
        "ok": False,
        "stateStore": {"backend": "postgres", "ok": False, "error": "state_store_unavailable"},
    }
    store = control_status(gateway)  # the control API answers, and says what is wrong
    assert store["ok"] is False
    assert "state store" in str(store["error"])

    server.start()
    assert gateway.chat("up/m").status_code == 200
    assert ask_messages(gateway).status_code == 200
    assert httpx.get(f"{gateway.url}/healthz").json() == {"ok": True}
    assert control_status(gateway)["ok"] is True
    # Nothing half-written: the turns that were refused left no row; each answered one, one.
    gateway.records_written()
    assert turns(url) == ["succeeded", "succeeded", "succeeded"]
    assert gateway.process.poll() is None  # it never went down

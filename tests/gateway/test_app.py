"""The gateway's Starlette app in this process (`create_app` through httpx's ASGI transport):
the bearer check, body limits, error shapes, the control routes' parsing, and the
server-sent events of a streamed answer, down to its last chunk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.gateway._control import DEFAULT_LAST, MAX_LAST, parse_last
from clawgate.gateway._openai import RequestError
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial
from tests.fakes.model_api import OPENAI, FakeModelAPI, chat_frames, stream
from tests.gateway.inprocess import Local, local_gateway, sse_events, streamed_text
from tests.gateway.running import config

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "Say hello."}]
ROUTES = [
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/models"),
    ("GET", "/control/status"),
    ("POST", "/control/reload"),
    ("GET", "/control/decisions"),
    ("POST", "/control/probe"),
]


@pytest.fixture
async def local(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Local]:
    async with local_gateway(tmp_path / "state", api) as running:
        yield running
        # Whatever the request did, it let go of its runtime.
        assert running.gateway.runtimes.open == 1
        assert running.gateway.runtimes.leases(running.gateway.runtime) == 0


def ask(**fields: Any) -> dict[str, Any]:
    return {"model": "clawgate", "messages": HELLO, **fields}


def only_error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    error: dict[str, Any] = body["error"]
    return error


# -- the bearer token ----------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic cg-test-token"])
async def test_every_route_but_healthz_wants_the_token(
    local: Local, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(local.app), base_url="http://localhost", headers=headers
    ) as stranger:
        for method, path in ROUTES:
            answer = await stranger.request(method, path, json=ask())
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer"
            error = only_error(answer)
            assert (error["type"], error["code"]) == ("authentication_error", "unauthorized")
            assert "clawgate gateway token" in error["message"]
        health = await stranger.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"ok": True})


# -- bodies and error shapes -----------------------------------------------------------------


# The limit these gateways run with: `gateway.maxBodyBytes` in the tests' config.
LIMIT: int = config("http://unused")["gateway"]["maxBodyBytes"]


async def test_a_body_over_the_limit_is_413_declared_or_not(local: Local) -> None:
    big = json.dumps(ask(messages=[{"role": "user", "content": "x" * LIMIT}])).encode()
    declared = await local.client.post("/v1/chat/completions", content=big)
    assert declared.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no content-length: counted as it arrives
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    undeclared = await local.client.post("/v1/chat/completions", content=chunked())
    assert "content-length" not in undeclared.request.headers
    assert undeclared.status_code == 413
    for answer in (declared, undeclared):
        error = only_error(answer)
        assert error["code"] == "request_too_large"
        assert str(LIMIT) in error["message"]


async def test_a_body_at_the_limit_is_read(local: Local, api: FakeModelAPI) -> None:
    body = json.dumps(ask()).encode()
    padded = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(padded) == LIMIT
    answer = await local.client.post("/v1/chat/completions", content=padded)
    assert answer.status_code == 200


async def test_unknown_routes_and_methods_are_openai_shaped(local: Local) -> None:
    missing = await local.client.get("/v1/nothing")
    assert missing.status_code == 404
    assert only_error(missing) == {
        "message": "no route /v1/nothing",
        "type": "invalid_request_error",
        "code": "not_found",
        "param": None,
    }
    wrong = await local.client.get("/v1/chat/completions")
    assert wrong.status_code == 405
    assert only_error(wrong) == {
        "message": "GET is not allowed on /v1/chat/completions",
        "type": "invalid_request_error",
        "code": None,
        "param": None,
    }


async def test_an_unknown_model_is_a_400_streamed_or_not(local: Local) -> None:
    for streamed in (False, True):
        answer = await local.client.post(
            "/v1/chat/completions", json=ask(model="nope", stream=streamed)
        )
        assert answer.status_code == 400
        error = only_error(answer)
        assert error["code"] == "model_not_found"
        assert "nope" in error["message"]


# -- answers ---------------------------------------------------------------------------------


async def test_a_completion_names_who_answered(local: Local) -> None:
    answer = await local.client.post("/v1/chat/completions", json=ask())
    assert answer.status_code == 200
    body = answer.json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello there"}
    assert body["clawgate"] == {
        "turn": answer.headers["x-clawgate-turn"],
        "model": "up/m",
        "profile": "up:default",
        "fallback": False,
    }
    assert answer.headers["x-clawgate-model"] == "up/m"
    assert answer.headers["x-clawgate-fallback"] == "false"


async def test_a_stream_ends_with_its_final_chunk_usage_and_done(local: Local) -> None:
    answer = await local.client.post(
        "/v1/chat/completions", json=ask(stream=True, stream_options={"include_usage": True})
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-clawgate-model"] == "up/m"
    events = sse_events(answer.text)
    first, *middle, final, usage, done = events
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert streamed_text(events) == "Hello there"
    assert all(e["choices"][0]["finish_reason"] is None for e in middle)
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["clawgate"] == {
        "turn": answer.headers["x-clawgate-turn"],
        "model": "up/m",
        "profile": "up:default",
        "fallback": False,
    }
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert done == "[DONE]"
    assert {e["id"] for e in events[:-1]} == {f"chatcmpl-{answer.headers['x-clawgate-turn']}"}


async def test_a_stream_without_usage_asked_has_none(local: Local) -> None:
    answer = await local.client.post("/v1/chat/completions", json=ask(stream=True))
    *_, final, done = sse_events(answer.text)
    assert final["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in final
    assert done == "[DONE]"


async def test_an_empty_answer_streams_straight_to_its_end(local: Local, api: FakeModelAPI) -> None:
    api.script(stream(chat_frames(parts=()).all()), path="/up/")
    answer = await local.client.post("/v1/chat/completions", json=ask(stream=True))
    role, final, done = sse_events(answer.text)
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert final["choices"][0]["finish_reason"] == "stop"
    assert done == "[DONE]"


async def test_an_error_mid_stream_ends_with_finish_reason_error(
    local: Local, api: FakeModelAPI
) -> None:
    api.script(stream(chat_frames().first(2), then="cut"), path="/x1/")
    answer = await local.client.post("/v1/chat/completions", json=ask(model="x1/m", stream=True))
    assert answer.status_code == 200  # the headers went out with the first text
    events = sse_events(answer.text)
    *_, cut, error, done = events
    assert streamed_text(events) == "Hello"
    assert cut["choices"][0]["finish_reason"] == "error"
    assert cut["clawgate"]["error"] == error["error"]["code"]
    assert cut["clawgate"]["model"] == "x1/m"
    assert error["error"]["type"] == "api_error"
    assert "broke off" in error["error"]["message"]
    assert done == "[DONE]"
    reasons = [c["finish_reason"] for e in events[:-1] for c in e.get("choices", [])]
    assert "stop" not in reasons


async def test_a_stream_that_fails_before_any_text_is_an_ordinary_error(
    local: Local, api: FakeModelAPI
) -> None:
    api.script(*[OPENAI["500"]] * 2, path="/s1/")
    answer = await local.client.post("/v1/chat/completions", json=ask(model="s1/m", stream=True))
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert only_error(answer)["code"] == "server_error"
    assert answer.headers["x-clawgate-turn"]


# -- the control routes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "last"),
    [(None, DEFAULT_LAST), ("3", 3), ("007", 7), (str(MAX_LAST), MAX_LAST)],
)
def test_last_is_a_count_of_turns_else_the_default(raw: str | None, last: int) -> None:
    assert parse_last(raw) == last


@pytest.mark.parametrize(
    "raw", ["0", "000", "-2", "", "abc", "2.5", "1e3", "²", "٣", str(MAX_LAST + 1), "9" * 5000]
)
def test_any_other_last_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse_last(raw)
    assert refused.value.param == "last"


async def test_decisions_returns_the_last_turns_oldest_first(local: Local) -> None:
    turns = []
    for _ in range(3):
        answer = await local.client.post("/v1/chat/completions", json=ask())
        turns.append(answer.headers["x-clawgate-turn"])

    async def last(query: str) -> list[str]:
        answer = await local.client.get(f"/control/decisions{query}")
        assert answer.status_code == 200
        return [t["turn_id"] for t in answer.json()]

    assert await last("?last=2") == turns[1:]
    assert await last("") == turns
    for odd in ("0", "-1", "abc", "²", "9" * 5000):
        refused = await local.client.get(f"/control/decisions?last={odd}")
        assert refused.status_code == 400
        assert only_error(refused)["param"] == "last"


async def test_a_probe_body_is_checked(local: Local) -> None:
    bad = await local.client.post("/control/probe", json={"timeout": 0, "bogus": 1})
    assert bad.status_code == 400
    assert "bad probe request" in only_error(bad)["message"]
    assert "bogus" in only_error(bad)["message"]
    not_json = await local.client.post("/control/probe", content=b"{")
    assert not_json.status_code == 400
    empty = await local.client.post("/control/probe", content=b"")
    assert empty.status_code == 200
    assert {p["profile"] for p in empty.json()["probes"]} >= {"up:default", "alt:default"}


async def test_status_never_lists_the_token_as_a_profile(local: Local) -> None:
    vault = local.gateway.vault
    vault.save("clawgate:gateway", "clawgate", ApiKeyMaterial(Secret("cg-an-old-install")))
    vault.save("keyed:default", "keyed", ApiKeyMaterial(Secret("sk-keyed")))
    vault.save_secret("gateway", Secret("cg-a-new-install"))
    status = (await local.client.get("/control/status")).json()
    assert [p["id"] for p in status["profiles"]] == ["keyed:default"]
    assert "cg-" not in json.dumps(status)


async def test_a_bad_config_is_refused_and_reported(local: Local) -> None:
    local.write_config("{ agents: ")
    refused = await local.client.post("/control/reload")
    assert refused.status_code == 409
    assert refused.json()["ok"] is False
    status = (await local.client.get("/control/status")).json()
    assert status["config"]["generation"] == 1
    assert "clawgate.json" in status["config"]["error"]
    served = await local.client.post("/v1/chat/completions", json=ask())
    assert served.json()["model"] == "up/m"  # the last good config still serves


async def test_models_lists_the_default_first(local: Local) -> None:
    answer = await local.client.get("/v1/models")
    ids = [m["id"] for m in answer.json()["data"]]
    assert ids[0] == "clawgate"
    assert {"up/m", "alt/m"} <= set(ids)


async def test_one_model_by_name(local: Local) -> None:
    listed = (await local.client.get("/v1/models")).json()["data"]
    first = listed[1]["id"]  # after "clawgate": the chain's primary
    one = await local.client.get(f"/v1/models/{first}")
    assert one.status_code == 200
    assert one.json() == {"id": first, "object": "model", "created": 0, "owned_by": "clawgate"}
    assert (await local.client.get("/v1/models/clawgate")).status_code == 200
    # Any provider/model the chain can resolve is a model, listed or not.
    assert (await local.client.get("/v1/models/up/other-model")).status_code == 200
    missing = await local.client.get("/v1/models/no-such-alias")
    assert missing.status_code == 404
    assert only_error(missing)["code"] == "model_not_found"

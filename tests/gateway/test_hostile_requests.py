"""Regression tests for what hostile API requests did to the gateway (the issue's first
finding), each against the real app in this process: deeply nested JSON, lone surrogates and
invalid UTF-8, numbers JSON has not, odd model refs (an upper-case provider, ids outside
Latin-1, CR/LF/NUL, an unknown provider, a 500 KB id), header values made from the request,
the control API's query and body, a client that hangs up while its body is read, and
clawgate's own failure: a 500 with a request id, logged once."""

from __future__ import annotations

import json
import logging
import signal
import socket
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clawgate.gateway._body import MAX_DEPTH
from clawgate.gateway._boundary import REQUEST_ID_HEADER
from clawgate.gateway._http import MAX_HEADER, header_value
from clawgate.routing import MAX_REF
from clawgate.state import AttemptRecord, State, TurnRecord
from clawgate.state._decisions import MAX_MESSAGE, MAX_NAME
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.hostile import (
    GOOD,
    HELLO,
    anthropic_path,
    checked_refusal,
    document,
    embedding_answers,
)
from tests.gateway.inprocess import TOKEN, Local, local_gateway
from tests.gateway.running import start_gateway

pytestmark = pytest.mark.anyio

JSON_ROUTES = list(GOOD)
TURN_ROUTES = [p for p in JSON_ROUTES if p.startswith("/v1/")]


@pytest.fixture
async def local(tmp_path: Path, api: FakeModelAPI) -> AsyncIterator[Local]:
    embedding_answers(api)
    async with local_gateway(tmp_path / "state", api, document(api.url)) as running:
        yield running
        # Whatever the request did, it let go of its runtime.
        assert running.gateway.runtimes.leases(running.gateway.runtime) == 0


async def post(local: Local, path: str, content: bytes | str) -> httpx.Response:
    raw = content.encode() if isinstance(content, str) else content
    return await local.client.post(path, content=raw, headers={"content-type": "application/json"})


def with_field(path: str, field: str, value: Any) -> dict[str, Any]:
    return {**GOOD[path], field: value}


def said(path: str, error: dict[str, Any]) -> str:
    """Where a refusal says the problem is: OpenAI's ``param``, or (Anthropic's error object
    has none) its message."""
    return str(error["message"] if anthropic_path(path) else error["param"])


# -- nesting, text and numbers ------------------------------------------------------------------


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_json_nested_past_the_recursion_limit_is_a_400(local: Local, path: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for body in (deep, json.dumps(GOOD[path])[:-1] + ', "x": ' + deep + "}"):
        error = checked_refusal(path, await post(local, path, body))
        assert f"nested more than {MAX_DEPTH} levels" in error["message"]


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_json_nested_past_the_bound_names_the_field(local: Local, path: str) -> None:
    nested: Any = "x"
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    error = checked_refusal(
        path, await local.client.post(path, json=with_field(path, "deep", nested))
    )
    assert said(path, error).startswith("deep.0.0")
    # At the bound, the shape is not what is refused (the field may be, by the route).
    nested = nested[0][0]
    answer = await local.client.post(path, json=with_field(path, "deep", nested))
    assert "nested" not in answer.text


# The field of each route that holds text a person wrote.
TEXT_FIELD = {
    "/v1/chat/completions": ("messages", HELLO, "messages.0.content"),
    "/v1/responses": ("input", "Say hello.", "input"),
    "/v1/messages": ("messages", HELLO, "messages.0.content"),
    "/v1/messages/count_tokens": ("messages", HELLO, "messages.0.content"),
    "/v1/embeddings": ("input", "Say hello.", "input"),
    "/control/probe": ("profile", "Say hello.", "profile"),
}


def _spoiled(path: str, text: bytes) -> bytes:
    """The route's good body with ``text`` (raw JSON string bytes) in place of its text."""
    field, value, _ = TEXT_FIELD[path]
    body = json.dumps(with_field(path, field, value)).encode()
    return body.replace(b"Say hello.", text, 1)


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    "text",
    [
        b"Say \\ud800 hello.",  # a lone high surrogate, escaped
        b"Say \\udfff",  # a lone low surrogate
        b"\\ude00\\ud83d",  # a pair in the wrong order
        b"Say \xff\xfe hello.",  # bytes that are not UTF-8
        b"caf\xe9",  # Latin-1, not UTF-8
        b"\xed\xa0\x80",  # a surrogate encoded as UTF-8 bytes (CESU), which UTF-8 forbids
    ],
)
async def test_text_that_is_not_utf8_is_a_400_naming_its_field(
    local: Local, path: str, text: bytes
) -> None:
    error = checked_refusal(path, await post(local, path, _spoiled(path, text)))
    assert TEXT_FIELD[path][2] in said(path, error)
    assert "not valid UTF-8" in error["message"]
    assert not local.gateway.state.decisions.last(10)  # nothing reached a turn


async def test_a_surrogate_pair_is_text_and_answered(local: Local) -> None:
    path = "/v1/chat/completions"
    answer = await post(local, path, _spoiled(path, b"Say \\ud83d\\ude00 hello."))
    assert answer.status_code == 200


async def test_a_key_that_is_not_utf8_is_refused_printably(local: Local) -> None:
    answer = await post(local, "/v1/chat/completions", b'{"model": "clawgate", "\\udc80": 1}')
    error = checked_refusal("/v1/chat/completions", answer)
    assert "key that is not valid UTF-8" in error["message"]
    undecodable = await post(local, "/v1/chat/completions", b'{"\xff": 1}')
    assert "not valid UTF-8" in checked_refusal("/v1/chat/completions", undecodable)["message"]


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_a_byte_outside_any_string_is_not_json(local: Local, path: str) -> None:
    error = checked_refusal(path, await post(local, path, b'{"model": \xff}'))
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-2e400", "9" * 200])
async def test_numbers_json_cannot_carry_are_a_400(local: Local, number: str) -> None:
    body = json.dumps(GOOD["/v1/chat/completions"])[:-1] + f', "seed": {number}}}'
    error = checked_refusal("/v1/chat/completions", await post(local, "/v1/chat/completions", body))
    assert "the body has" in error["message"]


# -- model refs ----------------------------------------------------------------------------------

ODD_REFS = [
    "UP/m",  # an upper-case provider: no profile id can have it
    "up/m\u0100",  # outside Latin-1: no header can carry it
    "up/\u4e2d\u6587",
    "up/m\nx-injected: 1",  # a newline: it would end the header
    "up/m\rx",
    "up/m\x00x",
    "up/\u200bm",  # invisible
    "/m",
    "up/",
    " up/m",
    "up/" + "m" * MAX_REF,
]


@pytest.mark.parametrize("ref", ODD_REFS)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_odd_model_ref_is_a_400_naming_the_model(
    local: Local, ref: str, stream: bool
) -> None:
    path = "/v1/chat/completions"
    answer = await local.client.post(path, json=with_field(path, "model", ref) | {"stream": stream})
    error = checked_refusal(path, answer)
    assert answer.status_code == 400
    assert error["param"] == "model"
    assert "\n" not in error["message"]
    assert "\r" not in error["message"]
    assert not local.gateway.state.decisions.last(10)


async def test_an_upper_case_provider_is_told_its_lower_case_form(local: Local) -> None:
    path = "/v1/chat/completions"
    error = checked_refusal(
        path, await local.client.post(path, json=with_field(path, "model", "UP/m"))
    )
    assert "did you mean 'up/m'" in error["message"]


@pytest.mark.parametrize("path", TURN_ROUTES)
async def test_an_unknown_provider_is_the_callers_mistake_on_every_surface(
    local: Local, path: str
) -> None:
    answer = await local.client.post(path, json=with_field(path, "model", "nope/x"))
    error = checked_refusal(path, answer)
    # 400 where OpenAI's SDKs would retry a 5xx; Anthropic's own API says 404 for a model.
    assert answer.status_code == (404 if anthropic_path(path) else 400)
    assert "unknown provider 'nope'" in error["message"]
    assert "configured: alt, c1" in error["message"]  # what the caller can use instead
    assert not local.gateway.state.decisions.last(10)


async def test_an_explicit_chain_is_checked_entry_by_entry(local: Local) -> None:
    path = "/v1/chat/completions"
    bad = await local.client.post(path, json=with_field(path, "models", ["up/m", "nope/x"]))
    assert checked_refusal(path, bad)["param"] == "models.1"
    long = await local.client.post(path, json=with_field(path, "models", ["up/m"] * 33))
    assert checked_refusal(path, long)["param"] == "models"
    good = await local.client.post(path, json=with_field(path, "models", ["alt/m"]))
    assert good.headers["x-clawgate-model"] == "alt/m"


async def test_a_model_by_an_odd_name_is_not_found(local: Local) -> None:
    for name in ("UP/m", "up/m%C4%80", "nope/x", "up/m%00x"):
        answer = await local.client.get(f"/v1/models/{name}")
        assert answer.status_code == 404, name
        assert checked_refusal("/v1/models", answer)["code"] == "model_not_found"
    # A newline is not even in the route's path pattern.
    answer = await local.client.get("/v1/models/up/m%0Ax")
    assert checked_refusal("/v1/models", answer)["code"] == "not_found"


async def test_twenty_500_kb_model_ids_do_not_grow_state_db(local: Local) -> None:
    db = local.gateway.paths.state_db

    def stored() -> int:
        return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))

    await local.client.post("/v1/chat/completions", json=GOOD["/v1/chat/completions"])
    before = stored()
    for index in range(20):
        ref = f"up/{index}" + "m" * 500_000
        answer = await local.client.post(
            "/v1/chat/completions", json=with_field("/v1/chat/completions", "model", ref)
        )
        assert answer.status_code == 400
        assert len(answer.content) < 4_000  # the refusal does not echo the id back
    assert stored() - before < 100_000
    assert len(local.gateway.state.decisions.last(100)) == 1


def test_a_decision_record_is_bounded_whatever_it_is_given(tmp_path: Path) -> None:
    state = State.open(tmp_path / "state.db")
    try:
        huge = "m" * 500_000
        attempts = tuple(
            AttemptRecord(f"up/{huge}", "up:default", "failed", message=huge + "\ud800")
            for _ in range(300)
        )
        state.decisions.record(
            TurnRecord("t1", None, f"up/{huge}\udc80", 1.0, 2.0, "failed", attempts=attempts)
        )
        kept = state.decisions.get("t1")
    finally:
        state.close()
    assert kept is not None
    assert kept.requested is not None
    assert len(kept.requested) == MAX_NAME
    assert kept.requested.endswith("…")
    assert len(kept.attempts) == 256
    assert {len(a.candidate) for a in kept.attempts} == {MAX_NAME}
    assert {len(a.message or "") for a in kept.attempts} == {MAX_MESSAGE}
    surrogate = TurnRecord("t2", None, "up/m\ud800", 1.0, 2.0, "failed")
    state = State.open(tmp_path / "state.db")
    try:
        state.decisions.record(surrogate)
        again = state.decisions.get("t2")
    finally:
        state.close()
    assert again is not None
    assert again.requested == "up/m?"


# -- header values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "up/m",
        "a\nb",
        "a\r\nx-evil: 1",
        "nul\x00",
        "caf\u00e9",
        "\u4e2d",
        "\ud800",
        "100%",
        "x" * 5000,
    ],
)
def test_a_header_value_is_visible_ascii_whatever_it_was(value: str) -> None:
    safe = header_value(value)
    assert all(" " <= c <= "~" for c in safe), safe
    assert len(safe) <= MAX_HEADER * 12
    if value.isprintable() and value.isascii() and "%" not in value and len(value) <= MAX_HEADER:
        assert safe == value
    elif "\ud800" not in value and len(value) <= MAX_HEADER:
        assert unquote(safe) == value


async def test_field_names_a_wire_drops_reach_the_header_safely(local: Local) -> None:
    odd = {"caf\u00e9": 1, "a\nx-evil: 1": 2, "\u4e2d": 3}
    path = "/v1/messages"
    answer = await local.client.post(path, json={**GOOD[path], **odd})
    assert answer.status_code == 200
    named = answer.headers["x-clawgate-dropped-params"]
    assert named.isascii()
    assert "\n" not in named
    assert set(unquote(named).split(", ")) >= set(odd)
    assert set(answer.json()["clawgate"]["dropped"]) >= set(odd)


# -- the control API -------------------------------------------------------------------------------


@pytest.mark.parametrize("last", ["abc", "0", "-1", "1.5", "%FF", "%ED%A0%80", "9" * 5000, ""])
async def test_a_bad_last_is_a_400_naming_it(local: Local, last: str) -> None:
    answer = await local.client.get(f"/control/decisions?last={last}")
    assert checked_refusal("/control/decisions", answer)["param"] == "last"


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"1", b"null", b"true", b"[{}]"])
async def test_a_probe_body_that_is_not_an_object_is_a_400(local: Local, body: bytes) -> None:
    error = checked_refusal("/control/probe", await post(local, "/control/probe", body))
    assert "is a JSON object" in error["message"]


# -- clients that go away, and clawgate's own failures ---------------------------------------------


async def _drive(local: Local, path: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One request through the app by hand: ``parts`` are what ``receive`` gives, in turn."""
    sent: list[dict[str, Any]] = []
    pending = list(parts)

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway", 80),
    }
    await local.app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_a_client_gone_while_its_body_is_read_is_no_error(
    local: Local, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    half = {"type": "http.request", "body": b'{"model": "clawg', "more_body": True}
    sent = await _drive(local, path, [half, {"type": "http.disconnect"}])
    assert sent == []  # no one to answer
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not local.gateway.state.decisions.last(10)


async def _fails(request: Request) -> Response:
    raise RuntimeError("an injected bug")


@pytest.mark.parametrize("path", ["/v1/injected", "/v1/messages/injected", "/control/injected"])
async def test_clawgates_own_failure_is_a_500_with_a_request_id_logged_once(
    local: Local, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    local.app.router.routes.append(Route(path, _fails, methods=["POST"]))
    caplog.set_level(logging.DEBUG)
    answer = await local.client.post(path, json={})
    assert answer.status_code == 500
    request_id = answer.headers[REQUEST_ID_HEADER]
    body = answer.json()
    if anthropic_path(path):
        assert body["type"] == "error"
        assert body["error"]["type"] == "api_error"
        message = body["error"]["message"]
    else:
        assert body["error"]["type"] == "api_error"
        assert body["error"]["code"] == "internal_error"
        message = body["error"]["message"]
    assert request_id in message
    assert "injected bug" not in answer.text  # what went wrong is for the log, not the caller
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1
    assert logged[0].name == "clawgate.gateway"
    assert request_id in logged[0].getMessage()
    assert logged[0].exc_info is not None
    assert "injected bug" in str(logged[0].exc_info[1])
    # The gateway goes on serving.
    again = await local.client.post("/v1/chat/completions", json=GOOD["/v1/chat/completions"])
    assert again.status_code == 200


@pytest.mark.parametrize("path", ["/v1/messages/nothing", "/v1/nothing"])
async def test_no_route_and_a_wrong_method_are_in_the_surfaces_shape(
    local: Local, path: str
) -> None:
    missing = await local.client.get(path)
    assert missing.status_code == 404
    checked_refusal(path, missing)
    surface = "/v1/messages" if anthropic_path(path) else "/v1/chat/completions"
    wrong = await local.client.get(surface)
    assert wrong.status_code == 405
    checked_refusal(surface, wrong)


# -- through a real server ------------------------------------------------------------------------


def test_a_real_server_answers_all_of_it_and_logs_no_traceback(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    """What dropped the connection (a CR or LF in a header value: h11 refuses to send it) or
    left a traceback on the gateway's stderr, through uvicorn on a loopback socket."""
    running = start_gateway(tmp_path / "state", api)
    try:
        bearer = {"authorization": f"Bearer {running.token}"}
        with httpx.Client(base_url=running.url, headers=bearer, timeout=30) as client:
            chat = GOOD["/v1/chat/completions"]
            for ref in ("up/m\nx-evil: 1", "up/m\rx", "up/m\x00", "UP/m", "up/m\u0100", "nope/x"):
                answer = client.post("/v1/chat/completions", json={**chat, "model": ref})
                assert answer.status_code == 400, ref
            odd = {**GOOD["/v1/messages"], "caf\u00e9": 1, "a\r\nx-evil: 1": 2}
            dropped = client.post("/v1/messages", json=odd)
            assert dropped.status_code == 200
            assert "x-evil" not in dropped.headers
            deep = "[" * 100_000 + "]" * 100_000
            for body in (deep, '{"model": "\\ud800"}', b'{"model": "\xff"}'):
                answer = client.post("/v1/chat/completions", content=body)
                assert answer.status_code == 400
            assert client.get("/control/decisions", params={"last": "abc"}).status_code == 400
            # A client that sends half its body and hangs up.
            address = urlsplit(running.url)
            with socket.create_connection((address.hostname, address.port)) as gone:
                gone.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + f"Authorization: Bearer {running.token}\r\n".encode()
                    + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    + b'{"model": "clawg'
                )
            assert client.post("/v1/chat/completions", json=chat).status_code == 200
    finally:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.stderr is not None
        logged = running.process.stderr.read()
        running.stop()
    assert "Traceback" not in logged
    assert "ERROR" not in logged

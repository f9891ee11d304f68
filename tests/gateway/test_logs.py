"""The gateway's log (`service._logs`): a real gateway writes JSON lines with the request and
turn id on every line of a turn and a decision line per attempt; files are private; rotation
keeps a fixed number; one filter keeps planted secrets out of every handler's output."""

from __future__ import annotations

import io
import json
import logging
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clawgate.service import LOG_FILE, REQUEST_ID, TURN_ID, close_logging, configure_logging
from tests.canary import CANARY
from tests.fakes.model_api import FakeModelAPI, error
from tests.gateway.running import RunningGateway


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _turn(gateway: RunningGateway, models: list[str]) -> httpx.Response:
    return gateway.chat(*models)


def test_a_fallback_turn_is_logged_as_json_lines_each_with_its_request_and_turn(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(error(429, {"error": {"message": "slow down", "code": "rate_limited"}}), path="/f1/")
    answer = _turn(gateway, ["f1/m", "alt/m"])
    assert answer.status_code == 200, answer.text
    turn = answer.headers["x-clawgate-turn"]

    logs = gateway.state / "logs"
    entries = _lines(logs / LOG_FILE)
    for entry in entries:
        assert set(entry) >= {"at", "level", "logger", "message", "request_id", "turn_id"}
    mine = [e for e in entries if e["turn_id"] == turn]
    decisions = [e["message"] for e in mine if e["message"].startswith("decision=")]
    assert decisions == [
        "decision=failed requested=f1/m candidate=f1/m profile=f1:default reason=rate_limit "
        "next=alt/m",
        "decision=succeeded requested=f1/m candidate=alt/m profile=alt:default reason=- next=-",
    ]
    assert all(e["level"] == "INFO" for e in mine if e["message"].startswith("decision="))
    # One request: every line of the turn carries the same request id.
    assert len({e["request_id"] for e in mine}) == 1
    assert mine[0]["request_id"]
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    assert stat.S_IMODE((logs / LOG_FILE).stat().st_mode) == 0o600


def test_a_secret_an_upstream_echoes_never_reaches_the_log(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    # The upstream echoes the canary in its error body and as its request id (logged with
    # every provider failure), on a failed turn and on a fallback.
    said = {"error": {"message": f"Incorrect API key provided: {CANARY}", "code": "bad_key"}}
    api.script(error(500, said, x_request_id=CANARY), path="/s1/")
    api.script(error(401, said, x_request_id=f"Bearer {CANARY}"), path="/s1/")
    assert _turn(gateway, ["s1/m", "alt/m"]).status_code == 200
    assert _turn(gateway, ["s1/m"]).status_code >= 400

    written = (gateway.state / "logs" / LOG_FILE).read_text()
    assert "provider failure provider=s1" in written  # the line that carried it was written
    assert CANARY not in written
    assert CANARY[-4:] in written  # masked to its last four, as everywhere


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Path, io.StringIO]]:
    """The gateway's logging set up in this process, stderr a terminal; removed after."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    touched = [logging.getLogger(n) for n in ("clawgate", "uvicorn", "uvicorn.error", "httpx")]
    before = [(lg.level, list(lg.handlers), lg.propagate) for lg in touched]
    try:
        yield tmp_path / "logs", terminal
    finally:
        close_logging()
        for lg, (level, handlers, propagate) in zip(touched, before, strict=True):
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


def test_one_filter_keeps_planted_secrets_out_of_the_file_and_the_terminal(
    logged: tuple[Path, io.StringIO],
) -> None:
    logs, terminal = logged
    # Fresh secrets, not the session's canary: the test's own log capture sees the raw record.
    key = "sk-" + secrets.token_hex(20)
    token = secrets.token_urlsafe(24)  # no telling shape: known to the filter by value
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9." + secrets.token_urlsafe(30)
    configure_logging(logs, stderr=terminal, secrets=[token])
    log = logging.getLogger("clawgate.test")
    log.warning("upstream said: Incorrect API key provided: %s", key)
    log.warning("refresh answered %r", {"access_token": jwt, "refresh_token": token})
    try:
        raise RuntimeError(f"token {token} was refused; header Authorization: Bearer {key}")
    except RuntimeError:
        log.exception("a turn failed")
    logging.getLogger("uvicorn.error").error("Exception in ASGI application: %s", key)
    logging.getLogger("httpx").warning("GET https://x.test/v1?key=%s", token)

    written = (logs / LOG_FILE).read_text()
    shown = terminal.getvalue()
    for text in (written, shown):
        assert "a turn failed" in text
        assert "RuntimeError" in text
        assert "Exception in ASGI application" in text
        assert "x.test" in text
        for secret in (key, token, jwt):
            assert secret not in text
    assert len(_lines(logs / LOG_FILE)) == 5


def test_the_file_rotates_by_size_and_keeps_a_fixed_number(
    logged: tuple[Path, io.StringIO],
) -> None:
    logs, _ = logged
    configure_logging(logs, stderr=io.StringIO(), max_bytes=2_000, backups=2)
    log = logging.getLogger("clawgate.test")
    for n in range(100):
        log.info("line %03d %s", n, "x" * 80)
    close_logging()
    assert sorted(p.name for p in logs.iterdir()) == [LOG_FILE, f"{LOG_FILE}.1", f"{LOG_FILE}.2"]
    for path in logs.iterdir():
        assert path.stat().st_size <= 2_000
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = [e["message"][:8] for p in (".2", ".1", "") for e in _lines(logs / f"{LOG_FILE}{p}")]
    assert kept[-1] == "line 099"
    assert kept == sorted(kept)  # oldest first, no gap within what was kept
    assert kept == [f"line {n:03d}" for n in range(100 - len(kept), 100)]


def test_lines_carry_the_request_and_turn_of_their_context(
    logged: tuple[Path, io.StringIO],
) -> None:
    logs, terminal = logged
    configure_logging(logs, stderr=terminal)
    log = logging.getLogger("clawgate.test")
    log.info("outside")
    request, turn = REQUEST_ID.set("r" * 32), TURN_ID.set("t" * 32)
    try:
        log.info("inside")
    finally:
        TURN_ID.reset(turn)
        REQUEST_ID.reset(request)
    outside, inside = _lines(logs / LOG_FILE)
    assert (outside["request_id"], outside["turn_id"]) == (None, None)
    assert (inside["request_id"], inside["turn_id"]) == ("r" * 32, "t" * 32)
    assert "turn=tttttttttttt" in terminal.getvalue().splitlines()[1]


def test_no_terminal_no_stderr_lines(logged: tuple[Path, io.StringIO]) -> None:
    logs, _ = logged
    piped = io.StringIO()  # not a terminal: a service's stderr goes to gateway.log already
    configure_logging(logs, stderr=piped)
    logging.getLogger("clawgate.test").warning("only in the file")
    assert piped.getvalue() == ""
    assert _lines(logs / LOG_FILE)[0]["message"] == "only in the file"

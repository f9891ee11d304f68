"""`clawgate logs`: a real gateway's log read back, one turn's lines with --turn, a level floor
with --level, rotated files oldest first, and -f following the file across a rotation."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.cli.logs import followed
from clawgate.config import Paths
from clawgate.service import LOG_FILE
from tests.fakes.model_api import FakeModelAPI, error
from tests.gateway.running import RunningGateway, start_gateway


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path_factory.mktemp("logs") / "state", _model_api)
    try:
        yield running
    finally:
        running.stop()


def _turn(gateway: RunningGateway, models: list[str]) -> str:
    answer = gateway.chat(*models)
    assert answer.status_code == 200, answer.text
    return answer.headers["x-clawgate-turn"]


def test_turn_shows_only_that_turns_lines(gateway: RunningGateway, api: FakeModelAPI) -> None:
    api.script(error(503, {"error": {"message": "overloaded"}}), path="/f1/")
    fallback = _turn(gateway, ["f1/m", "alt/m"])
    other = _turn(gateway, ["up/m"])

    shown = gateway.cli("logs", "--turn", fallback)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.split("decision=", 1)[1].split()[0] for line in lines if "decision=" in line] == [
        "failed",
        "succeeded",
    ]
    assert all(f"turn={fallback}" in line for line in lines)
    assert other not in shown.stdout

    stored = gateway.cli("logs", "--turn", other, "--json")
    entries = [json.loads(line) for line in stored.stdout.splitlines()]
    assert entries
    assert {e["turn_id"] for e in entries} == {other}
    assert any(e["message"].startswith("decision=succeeded") for e in entries)


def test_level_keeps_that_level_and_above(gateway: RunningGateway, api: FakeModelAPI) -> None:
    _turn(gateway, ["up/m"])
    every = [json.loads(line) for line in gateway.cli("logs", "--json").stdout.splitlines()]
    assert {e["level"] for e in every} >= {"INFO"}
    warnings = gateway.cli("logs", "--json", "--level", "warning").stdout.splitlines()
    expected = [e for e in every if e["level"] in {"WARNING", "ERROR", "CRITICAL"}]
    assert [json.loads(line) for line in warnings] == expected


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def _write(path: Path, *messages: str, level: str = "INFO") -> None:
    with path.open("a") as file:
        for message in messages:
            entry = {"at": "2026-01-02T03:04:05.000+00:00", "level": level, "logger": "t"}
            file.write(json.dumps({**entry, "message": message, "turn_id": None}) + "\n")


def test_rotated_files_are_read_oldest_first(state_env: dict[str, str], paths: Paths) -> None:
    logs = paths.logs_dir
    logs.mkdir(parents=True)
    _write(logs / f"{LOG_FILE}.2", "first")
    _write(logs / f"{LOG_FILE}.1", "second")
    _write(logs / LOG_FILE, "third", "fourth")
    shown = invoke(state_env, "logs")
    assert shown.exit_code == 0, shown.output
    said = [line.split("t: ", 1)[1] for line in shown.stdout.splitlines()]
    assert said == ["first", "second", "third", "fourth"]
    assert shown.stdout.startswith("2026-01-02 03:04:05 INFO ")


def test_no_log_yet_says_where_it_will_be(state_env: dict[str, str], paths: Paths) -> None:
    shown = invoke(state_env, "logs")
    assert shown.exit_code == 0
    assert str(paths.logs_dir / LOG_FILE) in shown.stdout


def test_a_bad_level_is_a_usage_error(state_env: dict[str, str]) -> None:
    shown = invoke(state_env, "logs", "--level", "loud")
    assert shown.exit_code == 2
    assert "Traceback" not in shown.output


def test_follow_reads_new_lines_and_carries_on_after_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / LOG_FILE
    _write(path, "before")  # already there: not repeated by -f
    steps = iter(
        [
            lambda: _write(path, "one"),
            lambda: (path.rename(tmp_path / f"{LOG_FILE}.1"), _write(path, "two")),
            lambda: _write(path, "three"),
        ]
    )

    def wait(seconds: float) -> None:  # each wait, the gateway writes something
        next(steps)()

    with contextlib.closing(followed(path, wait=wait)) as lines:
        said = [json.loads(next(lines))["message"] for _ in range(3)]
    assert said == ["one", "two", "three"]

"""`clawgate models health` shows every cooldown, block and circuit; `models health reset`
clears exactly the marks it names, in the running gateway (whose next turn uses the change)
or in state.db when no gateway runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import Paths
from clawgate.state import HealthMark, State
from tests.fakes.model_api import OPENAI, FakeModelAPI
from tests.gateway.inprocess import local_gateway
from tests.gateway.running import RunningGateway, start_gateway

HELLO = [{"role": "user", "content": "Say hello."}]
FAR = 4_000_000_000.0  # an end well after the test runs


@pytest.fixture
def gateway(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api)
    yield running
    running.stop()


def marks(result: Result) -> set[tuple[str, str, str | None, str, str]]:
    assert result.exit_code == 0, result.stderr
    return {
        (m["kind"], m["profile"], m["model"], m["reason"], m["state"])
        for m in json.loads(result.stdout)
    }


def test_reset_of_a_model_reaches_the_running_gateway(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["rate_limit"], path="/up/")
    api.script(OPENAI["rate_limit"], path="/alt/")
    client = gateway.client()
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    cooling = {
        ("cooldown", "up:default", "up/m", "rate_limit", "active"),
        ("cooldown", "alt:default", "alt/m", "rate_limit", "active"),
    }
    assert marks(gateway.cli("models", "health", "--json")) == cooling
    table = gateway.cli("models", "health")
    assert "rate_limit" in table.stdout
    assert "up:default" in table.stdout

    reset = gateway.cli("models", "health", "reset", "--model", "up/m")
    assert reset.exit_code == 0, reset.stderr
    assert "the running gateway (pid" in reset.stderr
    assert reset.stdout == "cleared cooldown of up:default up/m (rate_limit)\n"
    # Only what was named: the fallback's cooldown stays, in the gateway and in state.db.
    assert marks(gateway.cli("models", "health", "--json")) == {
        ("cooldown", "alt:default", "alt/m", "rate_limit", "active")
    }
    before = len(api.paths("/up/"))
    answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "up/m"  # the gateway no longer skips it
    assert len(api.paths("/up/")) == before + 1

    again = gateway.cli("models", "health", "reset", "--model", "up/m")
    assert again.stdout == "nothing to clear: no mark matches\n"


def seed(paths: Paths) -> None:
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    state = State.open(paths.state_db)
    try:
        for key, kind, profile, model, reason, failures in [
            ("block|a:one", "block", "a:one", None, "quota", 1),
            ("cooldown|a:one|a/m", "cooldown", "a:one", "a/m", "rate_limit", 1),
            ("circuit|a:one|a/n", "circuit", "a:one", "a/n", "server_error", 3),
            ("cooldown|a:two|a/m", "cooldown", "a:two", "a/m", "rate_limit", 1),
            ("circuit|a:two|a/n", "circuit", "a:two", "a/n", "timeout", 1),
        ]:
            state.health.put(
                HealthMark(key, kind, profile, model, None, FAR, failures, 30.0, reason, 0.0)
            )
    finally:
        state.close()


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def keys(env: dict[str, str]) -> set[tuple[str, str | None]]:
    return {(m[1], m[2]) for m in marks(invoke(env, "models", "health", "--json"))}


ALL = {("a:one", None), ("a:one", "a/m"), ("a:one", "a/n"), ("a:two", "a/m"), ("a:two", "a/n")}


@pytest.mark.parametrize(
    ("names", "cleared"),
    [
        (["--profile", "a:one"], {("a:one", None), ("a:one", "a/m"), ("a:one", "a/n")}),
        (["--model", "a/m"], {("a:one", "a/m"), ("a:two", "a/m")}),
        # Both: that (profile, model) only, not the profile's block of every model.
        (["--profile", "a:one", "--model", "a/m"], {("a:one", "a/m")}),
        (["--all"], ALL),
    ],
)
def test_reset_without_a_gateway_clears_exactly_what_it_names(
    state_env: dict[str, str], paths: Paths, names: list[str], cleared: set[tuple[str, str | None]]
) -> None:
    seed(paths)
    shown = marks(invoke(state_env, "models", "health", "--json"))
    assert ("circuit", "a:one", "a/n", "server_error", "open") in shown
    assert ("circuit", "a:two", "a/n", "timeout", "counting") in shown
    assert ("block", "a:one", None, "quota", "active") in shown

    reset = invoke(state_env, "models", "health", "reset", *names)
    assert reset.exit_code == 0, reset.stderr
    assert len(reset.stdout.splitlines()) == len(cleared)
    assert keys(state_env) == ALL - cleared


@pytest.mark.parametrize(
    ("names", "said"),
    [
        ([], "nothing to clear is named"),
        (["--all", "--profile", "a:one"], "--all clears every mark"),
        (["--model", "no-slash"], "neither provider/model nor an alias"),
        (["--profile", "nocolon"], "is not a profile id"),
    ],
)
def test_a_reset_that_names_nothing_valid_is_a_one_line_error(
    state_env: dict[str, str], paths: Paths, names: list[str], said: str
) -> None:
    seed(paths)
    reset = invoke(state_env, "models", "health", "reset", *names)
    assert reset.exit_code == 2
    assert said in reset.stderr
    assert "Traceback" not in reset.stderr
    assert keys(state_env) == ALL  # nothing cleared


def test_no_state_yet_shows_nothing(state_env: dict[str, str]) -> None:
    shown = invoke(state_env, "models", "health")
    assert shown.exit_code == 0
    assert shown.stdout == "no cooldowns, blocks or circuits\n"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("?profile=a:one&bogus=1", "bogus"),
        ("?model=a/m&model=a/n", "model"),
        ("?profile=nocolon", "profile"),
        ("?model=no-slash", "model"),
        ("?model=" + "x" * 300, "model"),
    ],
)
async def test_the_control_route_checks_its_query_strictly(
    tmp_path: Path, api: FakeModelAPI, query: str, param: str
) -> None:
    async with local_gateway(tmp_path / "state", api) as local:
        seed(local.gateway.paths)
        local.gateway.runtime.health.marks.update(
            {m.key: m for m in local.gateway.state.health.all()}
        )
        refused = await local.client.post(f"/control/health/reset{query}")
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == param
        assert len(local.gateway.runtime.health.marks) == len(ALL)  # nothing cleared

        named = await local.client.post("/control/health/reset?profile=a:two&model=a/n")
        assert named.status_code == 200
        assert [(m["profile"], m["model"]) for m in named.json()["cleared"]] == [("a:two", "a/n")]
        assert len(local.gateway.state.health.all()) == len(ALL) - 1

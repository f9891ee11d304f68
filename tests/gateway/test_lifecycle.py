"""The gateway as a process: live changes from the CLI, a bad config edit, SIGTERM during a
streamed turn, status, and one gateway per state directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.model_api import FakeModelAPI, Reply, chat_frames
from tests.gateway.running import RunningGateway, config, start_gateway, stopped_mid_stream

HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def fresh(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api)
    yield running
    running.stop()


def test_a_key_added_by_the_cli_is_used_on_the_next_turn(
    fresh: RunningGateway, api: FakeModelAPI
) -> None:
    client = fresh.client()
    with pytest.raises(openai.APIStatusError) as before:
        client.chat.completions.create(model="keyed/m", messages=HELLO)  # type: ignore[arg-type]
    assert before.value.status_code == 503
    assert before.value.body["code"] == "auth_dead"  # type: ignore[index]

    added = fresh.cli(
        "models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin="sk-keyed-1\n"
    )
    assert added.exit_code == 0, added.stderr
    assert "the running gateway (pid" in added.stderr
    assert "picked it up" in added.stderr

    answer = client.chat.completions.create(model="keyed/m", messages=HELLO)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Hello there"
    assert api.paths("/keyed/")[-1].headers["authorization"] == "Bearer sk-keyed-1"

    probe = httpx.post(
        fresh.url + "/control/probe",
        headers={"Authorization": f"Bearer {fresh.token}"},
        json={"profile": "keyed:default"},
    ).json()
    assert [(p["profile"], p["ok"], p["credential"], p["ranIn"]) for p in probe["probes"]] == [
        ("keyed:default", True, "memory", "gateway")  # the broker the turn just used
    ]
    assert "sk-keyed-1" not in json.dumps(probe)


def test_a_bad_config_edit_is_refused_live_and_serving_goes_on(
    fresh: RunningGateway, api: FakeModelAPI
) -> None:
    client = fresh.client()
    fresh.write_config("{ agents: { defaults: { model: ")  # cut off mid-edit
    answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "up/m"  # the last good config still serves
    facts = json.loads(fresh.cli("gateway", "status", "--json").stdout)
    assert facts["config"]["generation"] == 1
    assert "clawgate.json" in facts["config"]["error"]

    fixed = config(api.url)
    fixed["agents"]["defaults"]["model"] = {"primary": "alt/m"}
    fresh.write_config(json.dumps(fixed))
    answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "alt/m"  # the next turn runs on the new config, no restart
    facts = json.loads(fresh.cli("gateway", "status", "--json").stdout)
    assert (facts["config"]["generation"], facts["config"]["error"]) == (2, None)


def test_status_reports_pid_bind_uptime_generation_and_profiles(fresh: RunningGateway) -> None:
    fresh.cli("models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin="sk-k\n")
    result = fresh.cli("gateway", "status", "--json")
    assert result.exit_code == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["pid"] == fresh.process.pid
    assert facts["bind"] == "127.0.0.1"
    assert fresh.url.endswith(f":{facts['port']}")
    assert facts["uptime"] >= 0
    assert facts["config"]["generation"] >= 1
    assert [(p["id"], p["kind"], p["state"]) for p in facts["profiles"]] == [
        ("keyed:default", "api_key", "ok")
    ]
    assert "sk-k" not in result.stdout
    assert fresh.token not in result.stdout


def test_a_second_gateway_on_the_same_state_dir_refuses_to_start(fresh: RunningGateway) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "clawgate", "gateway", "run", "--port", "0"],
        env={**fresh.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert f"pid {fresh.process.pid}" in second.stderr
    assert "Traceback" not in second.stderr


def test_sigterm_during_a_streamed_turn_lets_it_finish(
    fresh: RunningGateway, api: FakeModelAPI
) -> None:
    parts = tuple(f"w{i} " for i in range(10))
    api.script(Reply(frames=chat_frames(parts).all(), pace=0.05), path="/up/")
    code, received, outcome = stopped_mid_stream(fresh)
    assert "error" not in outcome, outcome
    assert received == "".join(parts)
    assert outcome["finish"] == "stop"
    assert code == 0
    assert not (fresh.state / "gateway.json").exists()

"""`clawgate gateway run --workers 2`: a supervisor and two worker processes on one port, seen
from outside as a user sees them. Which worker answered is read from ``/control/status``
(``worker.pid``), asked over a new connection each time: the kernel spreads connections over
the workers (SO_REUSEPORT), so both answer within a few tries."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.conftest import OWNER, document
from tests.channels.emulator import Emulator, emulator, wait_for
from tests.fakes.model_api import FakeModelAPI, Reply, chat_frames
from tests.gateway.running import RunningGateway, config, start_gateway, stopped_mid_stream

HELLO = [{"role": "user", "content": "Say hello."}]
TRIES = 40  # new connections: the chance that one worker gets none is 2 ** -39


@pytest.fixture
def two(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api, "--workers", "2")
    yield running
    running.stop()


def workers_of(running: RunningGateway) -> list[int]:
    pid = running.process.pid
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


def status(running: RunningGateway) -> dict[str, Any]:
    """``/control/status`` over a new connection."""
    answer = httpx.get(
        running.url + "/control/status",
        headers={"authorization": f"Bearer {running.token}"},
        timeout=10,
    )
    answer.raise_for_status()
    facts: dict[str, Any] = answer.json()
    return facts


def answering(running: RunningGateway, tries: int = TRIES) -> dict[int, dict[str, Any]]:
    """The status each worker gave, by its pid, over ``tries`` new connections."""
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(tries):
        facts = status(running)
        seen[facts["worker"]["pid"]] = facts
    return seen


def gone(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return text.rpartition(")")[2].split()[:1] == ["Z"]


def test_both_workers_answer_on_one_port(two: RunningGateway) -> None:
    assert "2 workers" in two.banner
    pids = workers_of(two)
    assert len(pids) == 2
    seen = answering(two)
    assert sorted(seen) == pids
    assert sorted(facts["worker"]["index"] for facts in seen.values()) == [0, 1]
    for facts in seen.values():
        assert facts["pid"] == two.process.pid  # the supervisor's: what `gateway stop` signals
        assert facts["worker"]["count"] == 2
        assert two.url.endswith(f":{facts['port']}")  # port 0 was chosen once, for both
    runtime = json.loads((two.state / "gateway.json").read_text())
    assert (runtime["pid"], runtime["workers"]) == (two.process.pid, 2)
    for _ in range(6):
        assert two.chat("up/m").json()["choices"][0]["message"]["content"] == "Hello there"


def test_gateway_status_and_stop_name_the_supervisor(two: RunningGateway) -> None:
    pids = workers_of(two)
    result = two.cli("gateway", "status", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["pid"] == two.process.pid
    assert facts["worker"]["pid"] in pids
    plain = two.cli("gateway", "status")
    assert f"running: pid {two.process.pid}" in plain.stdout
    stopped = two.cli("gateway", "stop")
    assert stopped.stdout.strip() == f"stopped pid {two.process.pid}"
    assert two.process.wait(timeout=60) == 0
    assert all(gone(pid) for pid in pids)


def test_sigterm_stops_every_worker_and_the_turn_in_flight_finishes(
    two: RunningGateway, api: FakeModelAPI
) -> None:
    pids = workers_of(two)
    parts = tuple(f"w{i} " for i in range(10))
    api.script(Reply(frames=chat_frames(parts).all(), pace=0.05), path="/up/")
    code, received, outcome = stopped_mid_stream(two)
    assert "error" not in outcome, outcome
    assert received == "".join(parts)
    assert outcome["finish"] == "stop"
    assert code == 0
    assert all(gone(pid) for pid in pids)
    assert not (two.state / "gateway.json").exists()


def test_a_config_edit_and_a_reload_reach_both_workers(
    two: RunningGateway, api: FakeModelAPI
) -> None:
    edited = config(api.url)
    edited["agents"]["defaults"]["model"] = {"primary": "alt/m"}
    two.write_config(json.dumps(edited))
    for _ in range(TRIES // 2):  # new connections, so both workers answer some
        with two.client() as client:
            answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
        assert answer.model == "alt/m"
    assert {facts["config"]["generation"] for facts in answering(two).values()} == {2}

    # A reload asked of one worker (as the CLI does after a change) reaches the other too.
    asked = httpx.post(
        two.url + "/control/reload", headers={"authorization": f"Bearer {two.token}"}
    ).json()
    assert (asked["ok"], asked["generation"]) == (True, 3)
    wait_for(
        lambda: {f["config"]["generation"] for f in answering(two, 10).values()} == {3},
        what="both workers at generation 3",
    )
    assert len(answering(two)) == 2


def test_a_killed_worker_is_replaced(two: RunningGateway) -> None:
    victim, survivor = workers_of(two)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(
        lambda: (pids := workers_of(two)) and len(pids) == 2 and victim not in pids and pids,
        what="a new worker",
    )
    assert survivor in replaced
    assert gone(victim)
    wait_for(lambda: len(answering(two, 10)) == 2, what="the new worker answering")
    assert sorted(answering(two)) == replaced
    assert two.chat("up/m").status_code == 200
    assert two.process.poll() is None


def test_workers_share_a_private_metrics_dir_emptied_at_start(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    stale = tmp_path / "state" / "prometheus" / "counter_999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier run")
    document = {**config(api.url), "gateway": {"workers": 2}}  # from the config this time
    running = start_gateway(tmp_path / "state", api, document=document)
    try:
        where = tmp_path / "state" / "prometheus"
        assert not stale.exists()
        assert stat.S_IMODE(where.stat().st_mode) == 0o700
        pids = workers_of(running)
        assert len(pids) == 2
        assert running.chat("up/m").status_code == 200
        # The variable is set after exec (/proc/<pid>/environ does not show it): what the
        # workers write there is theirs alone, named by pid (prometheus_client's files).
        assert all(int(f.stem.rsplit("_", 1)[-1]) in pids for f in where.iterdir())
    finally:
        assert running.stop() == 0


def test_a_port_in_use_fails_the_start_with_one_line(tmp_path: Path, api: FakeModelAPI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = tmp_path / "state"
        state.mkdir(mode=0o700)
        (state / "clawgate.json").write_text(json.dumps(config(api.url)))
        env = {**os.environ, "CLAWGATE_STATE_DIR": str(state)}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "clawgate",
                "gateway",
                "run",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (state / "gateway.json").exists()


# --- Telegram: polled by one worker only -----------------------------------------------------


@pytest.fixture(scope="module")
def tg() -> Iterator[Emulator]:
    with emulator() as running:
        yield running


def connections_to(pid: int, port: int) -> int:
    """TCP connections process ``pid`` holds to ``port`` on loopback (proc(5): its socket
    inodes among /proc/net/tcp's rows with that remote port)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
            count += 1
    return count


def test_telegram_runs_in_worker_0_only(tmp_path: Path, api: FakeModelAPI, tg: Emulator) -> None:
    token = tg.new_token()
    running = start_gateway(tmp_path / "state", api, "--workers", "2", document=document(api, tg))
    try:
        added = running.cli("channels", "telegram", "add", "--token-stdin", stdin=token)
        assert added.exit_code == 0, added.output
        assert running.cli("channels", "telegram", "allow", str(OWNER)).exit_code == 0
        tg.says(token, OWNER, "hi")
        wait_for(lambda: any("Hello there" in m for m in tg.shown(token, OWNER)), what="answer")
        seen = answering(running)
        by_index = {facts["worker"]["index"]: facts for facts in seen.values()}
        assert by_index[0]["channels"]["telegram"]["state"] == "connected"
        assert by_index[1]["channels"] == {}
        emulator_port = int(tg.url.rsplit(":", 1)[1].split("/")[0])
        polling = {
            index: connections_to(facts["worker"]["pid"], emulator_port)
            for index, facts in by_index.items()
        }
        assert polling[0] >= 1
        assert polling[1] == 0
        tg.says(token, OWNER, "again")
        wait_for(lambda: len(tg.shown(token, OWNER)) >= 2, what="the second answer")
        assert len(tg.shown(token, OWNER)) == 2  # each message answered once
    finally:
        assert running.stop() == 0

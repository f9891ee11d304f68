"""`clawgate.metrics` in several processes (prometheus_client's multiprocess mode): what two
processes record into one ``PROMETHEUS_MULTIPROC_DIR`` adds up in a third's scrape; active
streams count while their process lives (until it is marked gone); workers forked after the
directory was set share it too, and so a gateway run with ``--workers 2`` answers every scrape
with all its turns, whichever worker answers. Labels stay bounded: a ref the config does not
name is ``other``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

from clawgate import metrics
from clawgate.state import TurnRecord
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import start_gateway

WORKER = Path(__file__).parent / "metrics_process.py"
STREAM = "/v1/chat/completions"


def _env(directory: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return env if directory is None else {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


def _scrape(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = subprocess.run(
        [sys.executable, str(WORKER), "scrape"],
        env=_env(directory),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _turns(key: str = "phone") -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"outcome": "succeeded", "failure": "", "model": "up/m", "key": key}
    return "clawgate_turns_total", tuple(sorted(labels.items()))


ACTIVE = ("clawgate_active_streams", (("path", STREAM),))
INPUT = ("clawgate_tokens_total", (("key", "phone"), ("kind", "input"), ("model", "up/m")))
ANSWERED = ("clawgate_answer_seconds_count", (("model", "up/m"),))


def test_two_processes_add_up_in_one_scrape(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir(mode=0o700)
    first = subprocess.Popen(
        [sys.executable, str(WORKER), "record", "1"],
        env=_env(shared),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    second = subprocess.Popen(
        [sys.executable, str(WORKER), "record", "2"],
        env=_env(shared),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for worker in (first, second):
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "held"  # its turns are recorded
        both = _scrape(shared)
        assert both[_turns()] == 3
        assert both[INPUT] == 30
        assert both[ANSWERED] == 3
        assert both[ACTIVE] == 2  # one stream held open in each
    finally:
        for worker in (first, second):
            worker.communicate(timeout=60)  # stdin closes: the stream ends, the process exits
    for pid in (first.pid, second.pid):  # what the supervisor does (`metrics.process_gone`)
        mark_process_dead(pid, str(shared))  # type: ignore[no-untyped-call]
    after = _scrape(shared)
    assert after[_turns()] == 3  # counters outlive their processes
    assert after.get(ACTIVE, 0.0) == 0  # a live gauge does not


def test_workers_forked_after_the_directory_was_set_share_it(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir(mode=0o700)
    forked = subprocess.run(
        [sys.executable, str(WORKER), "fork", str(shared), "2"],
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert forked.returncode == 0, forked.stderr
    assert forked.stdout.strip() == "[0, 0]"  # each worker was in multiprocess mode
    assert _scrape(shared)[_turns()] == 2


def test_a_ref_the_config_does_not_name_is_other() -> None:
    def others() -> float:
        families = text_string_to_metric_families(metrics.exposition().decode())
        labels = {"outcome": "succeeded", "failure": "", "model": metrics.OTHER, "key": ""}
        turns = [s for f in families for s in f.samples if s.name == "clawgate_turns_total"]
        found = [s.value for s in turns if s.labels == labels]
        return sum(found)

    record = TurnRecord("t", None, None, 0.0, 1.0, "succeeded", model="up/chosen-by-caller")
    before = others()
    metrics.turn(record, None, {"up/m"}.__contains__)
    assert others() == before + 1
    assert "up/chosen-by-caller" not in metrics.exposition().decode()


def test_every_worker_of_a_gateway_answers_a_scrape_with_every_turn(
    tmp_path: Path, api: FakeModelAPI
) -> None:
    gateway = start_gateway(tmp_path / "state", api, "--workers", "2")
    try:
        for _ in range(6):  # a connection each: the kernel spreads them over the workers
            assert gateway.chat("up/m").status_code == 200
        answered: dict[int, float] = {}
        for _ in range(16):  # a connection each, so both workers answer some
            with httpx.Client(base_url=gateway.url, timeout=30) as client:
                headers = {"authorization": f"Bearer {gateway.token}"}
                pid = client.get("/control/status", headers=headers).json()["worker"]["pid"]
                text = client.get("/metrics", headers=headers).text
            turns = [
                s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "clawgate_turns_total" and s.labels["model"] == "up/m"
            ]
            answered[pid] = sum(turns)
    finally:
        assert gateway.stop() == 0
    assert len(answered) == 2, answered
    assert set(answered.values()) == {6}

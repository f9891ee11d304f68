"""Stopping an idle gateway: the time from SIGTERM until the process has exited (its pid is
a zombie or gone), and the wall time of `clawgate gateway stop` for a gateway started in the
background with `clawgate gateway start` (an orphan: init reaps it, which in a container may
take seconds; `stop` no longer waits for that).

    .venv/bin/python bench/gateway_stop.py [--runs 5]

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = [sys.executable, "-m", "clawgate"]


def exited(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def started(env: dict[str, str], state: Path) -> int:
    subprocess.run([*EXE, "gateway", "start"], env=env, check=True, capture_output=True)
    pid: int = json.loads((state / "gateway.json").read_text())["pid"]
    time.sleep(1)  # idle: up and waiting, nothing in flight
    return pid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    to_exit, stop_cli = [], []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        env = {**os.environ, "CLAWGATE_STATE_DIR": str(state)}
        state.mkdir(mode=0o700)
        with socket.socket() as probe:  # a free port: `gateway start` takes the config's
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        (state / "clawgate.json").write_text(json.dumps({"gateway": {"port": port}}))
        for _ in range(runs):
            pid = started(env, state)
            begun = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            while not exited(pid):
                time.sleep(0.005)
            to_exit.append(time.monotonic() - begun)
            while (state / "gateway.json").exists():
                time.sleep(0.01)
            pid = started(env, state)
            begun = time.monotonic()
            subprocess.run([*EXE, "gateway", "stop"], env=env, check=True, capture_output=True)
            stop_cli.append(time.monotonic() - begun)
    for name, values in (("SIGTERM → exited", to_exit), ("`gateway stop` wall", stop_cli)):
        print(f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s")


if __name__ == "__main__":
    main()

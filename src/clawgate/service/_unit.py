"""The gateway as a service: a systemd user unit where systemd runs (``Restart=on-failure``,
and no restart loop on bad config: ``RestartPreventExitStatus=78``), and a background process
managed by its pid where it does not."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from clawgate.config import Paths, user_unit_dir
from clawgate.service._runtime_file import GatewayError, read_runtime_file

__all__ = [
    "UNIT_NAME",
    "install_unit",
    "start_background",
    "start_unit",
    "stop",
    "uninstall_unit",
    "unit_path",
    "unit_text",
]

UNIT_NAME = "clawgate-gateway.service"
EX_CONFIG = 78
_started: list[subprocess.Popen[bytes]] = []


def unit_path(env: Mapping[str, str]) -> Path:
    return user_unit_dir(env) / UNIT_NAME


def unit_text(paths: Paths) -> str:
    return (
        "[Unit]\n"
        "Description=clawgate gateway (OpenAI-compatible API for your models)\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        f"ExecStart={sys.executable} -m clawgate gateway run\n"
        f"Environment=CLAWGATE_STATE_DIR={paths.state_dir}\n"
        f"Environment=CLAWGATE_CONFIG={paths.config_file}\n"
        "Restart=on-failure\n"
        f"RestartPreventExitStatus={EX_CONFIG}\n"
        "TimeoutStopSec=45\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _systemctl(*args: str) -> bool:
    """True when systemd took the command; False where there is no user systemd."""
    if shutil.which("systemctl") is None:
        return False
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, check=False)
    return done.returncode == 0


def install_unit(paths: Paths, env: Mapping[str, str]) -> tuple[Path, bool]:
    """Write the unit; enable it when a user systemd answers. Returns (path, enabled)."""
    path = unit_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(paths))
    enabled = _systemctl("daemon-reload") and _systemctl("enable", UNIT_NAME)
    return path, enabled


def uninstall_unit(env: Mapping[str, str]) -> bool:
    path = unit_path(env)
    if not path.exists():
        return False
    _systemctl("disable", "--now", UNIT_NAME)
    path.unlink()
    _systemctl("daemon-reload")
    return True


def start_unit() -> bool:
    return _systemctl("start", UNIT_NAME)


def start_background(paths: Paths, env: Mapping[str, str], *, wait: float = 30.0) -> int:
    """Start ``gateway run`` detached, its output in ``logs/gateway.log``; return its pid once
    it listens."""
    if (facts := read_runtime_file(paths)) is not None:
        raise GatewayError(
            f"a gateway is already running (pid {facts['pid']})",
            fix="clawgate gateway restart",
        )
    logs = paths.logs_dir
    logs.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (logs / "gateway.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "clawgate", "gateway", "run"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not killed with the shell that started it
        )
    _started.append(process)  # it outlives this call by design; keep its handle quiet
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        facts = read_runtime_file(paths)
        if facts is not None and facts["pid"] == process.pid:
            return process.pid
        code = process.poll()
        if code is not None:
            raise GatewayError(
                f"the gateway exited at start (status {code})",
                fix=f"see {logs / 'gateway.log'}",
            )
        time.sleep(0.05)  # waiting for another process to come up, not for time to pass
    raise GatewayError(f"the gateway did not start within {wait:g} s", fix="see the log")


def stop(paths: Paths, *, wait: float = 45.0) -> int | None:
    """SIGTERM the running gateway and wait until it is gone; its pid, or None if none ran."""
    facts = read_runtime_file(paths)
    if facts is None:
        return None
    pid: int = facts["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        _reap(pid)
        time.sleep(0.05)  # waiting for another process to finish its turns and exit
    raise GatewayError(
        f"the gateway (pid {pid}) did not stop within {wait:g} s",
        fix=f"kill {pid}",
    )


def _reap(pid: int) -> None:
    # A child of this process (a test, `restart`) stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

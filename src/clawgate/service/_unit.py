"""The gateway as a service: a systemd user unit where systemd runs (``Restart=on-failure``,
and no restart loop on bad config: ``RestartPreventExitStatus=78``), and a background process
managed by its pid where it does not."""

from __future__ import annotations

import atexit
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
from clawgate.fileio import ensure_private_dir
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


@atexit.register
def _reap_started() -> None:
    # A gateway this process started and then stopped (`gateway restart`, a test) is a zombie
    # until its status is read; read it, so none is left and no handle reports it running.
    for process in _started:
        process.poll()


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
    log = open_log(logs / "gateway.log")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "clawgate", "gateway", "run"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not killed with the shell that started it
        )
    finally:
        os.close(log)
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


def open_log(path: Path) -> int:
    """``path`` opened for appending: 0600 in a 0700 directory, an older, wider one tightened,
    since the gateway's output names profiles, paths and failures; never through a symlink
    (O_NOFOLLOW), which could point the gateway's output at any file the user may write."""
    ensure_private_dir(path.parent)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = -1
    try:
        fd = os.open(path, flags, 0o600)
        os.fchmod(fd, 0o600)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        link = " (a symlink, which clawgate does not follow)" if path.is_symlink() else ""
        raise GatewayError(
            f"cannot open the gateway's log {path}{link}: {exc.strerror}",
            fix=f"remove {path}; clawgate creates it again",
        ) from None
    return fd


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
        if _zombie(pid):
            return pid  # it has exited; only its parent (init) has yet to reap it
        time.sleep(0.05)  # waiting for another process to finish its turns and exit
    raise GatewayError(
        f"the gateway (pid {pid}) did not stop within {wait:g} s",
        fix=f"kill {pid}",
    )


def _zombie(pid: int) -> bool:
    """Exited but not yet reaped: kill(pid, 0) still succeeds. A gateway started in the
    background is an orphan, reaped by init, which in a container can take seconds (an idle
    gateway stops in a fraction of one; proc(5), /proc/<pid>/stat field 3)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS): kill(pid, 0) alone decides
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _reap(pid: int) -> None:
    # A child of this process (a test, `restart`) stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

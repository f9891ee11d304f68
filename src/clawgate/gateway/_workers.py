"""Several gateway processes on one port: ``gateway.workers`` / ``gateway run --workers N``.

The process ``gateway run`` started is the supervisor. It holds ``gateway.lock`` and writes
``gateway.json`` with its own pid, so ``gateway stop`` and ``gateway status`` find it as they
find a single gateway; it serves nothing itself. It forks N workers before any event loop or
thread exists (a fork copies only the thread that calls it), each a whole gateway: its own
event loop, runtimes, upstream pools and connections to ``state.db`` (WAL, busy_timeout) and
the vault (whose file locks serialize refreshes across processes).

- The port: the supervisor binds it once (port 0 picks it) with ``SO_REUSEPORT`` and keeps that
  socket bound but not listening, which reserves the port; each worker binds and listens on its
  own ``SO_REUSEPORT`` socket, and the kernel spreads new connections over the listening ones
  by a hash of their addresses (socket(7)). One shared listening socket balanced worse on 2
  cores: the worker that wakes first accepts a whole burst (docs/architecture.md, "Several
  workers, one port").
- Channels run in worker 0 only: two Telegram pollers on one token get 409 Conflict.
- A reload asked of one worker (``/control/reload``) comes here on the workers' pipe and goes
  to the others as SIGHUP.
- ``PROMETHEUS_MULTIPROC_DIR`` is set for the workers to a fresh private directory under the
  state directory, so prometheus_client's multiprocess mode adds up their metrics; a worker
  that exits is marked dead there.
- SIGTERM or SIGINT to the supervisor is passed to every worker, each of which stops as a single
  gateway does (stops accepting, lets its turns in flight finish within the grace period);
  the supervisor exits when all have, and kills one that outlives the grace period by
  `MARGIN` seconds. A worker whose supervisor dies gets SIGTERM from the kernel (Linux:
  PR_SET_PDEATHSIG), so none is left serving alone.
- A worker that exits on its own is replaced in the same slot (worker 0 with the channels
  again): at once when it had run for `STABLE` seconds, else after a back-off doubling from
  `BACKOFF` to `BACKOFF_MAX` seconds, so a worker that cannot start does not spin. A worker
  that fails while the gateway starts fails the start, with its error.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import selectors
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawgate.config import Paths
from clawgate.errors import ClawgateError
from clawgate.fileio import write_atomic
from clawgate.service import GatewayError, runtime_file

__all__ = ["METRICS_ENV", "Worker", "listen", "metrics_dir", "supervise"]

log = logging.getLogger("clawgate.gateway")

METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
STABLE = 10.0  # seconds a worker must have run for its death to be replaced at once
BACKOFF = 0.5  # the first delay before replacing a worker that died young; doubled each time
BACKOFF_MAX = 30.0
MARGIN = 15.0  # seconds past the grace period before a stopping worker is killed
_PR_SET_PDEATHSIG = 1  # prctl(2)


def listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port``; with ``reuse_port``, one of several."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits out the peer's 40 ms delayed ACK.
    listener = _socket(host, reuse_port=reuse_port)
    try:
        listener.bind((host, port))
        listener.listen(1024 if reuse_port else 128)
    except OSError:
        listener.close()
        raise
    return listener


def _socket(host: str, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        # Only sockets of the same user may join (socket(7)): no other account's process can
        # take a share of the gateway's connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


@dataclass(frozen=True)
class Worker:
    """What a worker process knows of its place: its slot, how many serve, who supervises,
    and the pipe on which it says it listens (or why it could not)."""

    index: int
    count: int
    supervisor: int
    port: int
    report: int  # write end of the supervisor's pipe

    @property
    def channels(self) -> bool:
        return self.index == 0

    def listen(self, host: str) -> socket.socket:
        return listen(host, self.port, reuse_port=True)

    def ready(self) -> None:
        self._say({"ready": True})

    def reloaded(self) -> None:
        """This worker reloaded on request: the supervisor has the others reload (SIGHUP)."""
        self._say({"reload": True})

    def failed(self, message: str, fix: str | None) -> None:
        self._say({"ready": False, "message": message, "fix": fix})

    def _say(self, what: dict[str, Any]) -> None:
        # One line under PIPE_BUF bytes: written whole, never interleaved with another's.
        line = json.dumps({"index": self.index, **what})[:3000] + "\n"
        with contextlib.suppress(OSError):
            os.write(self.report, line.encode())

    def facts(self) -> dict[str, int]:
        """What ``/control/status`` says of this worker."""
        return {"index": self.index, "count": self.count, "pid": os.getpid()}


def metrics_dir(paths: Paths) -> Path:
    """``<state>/prometheus``, emptied and private (0700): the workers' metric files, which
    must not mix with those of an earlier run (prometheus_client, "Multiprocess Mode")."""
    path = paths.state_dir / "prometheus"
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
    path.mkdir(mode=0o700)
    return path


@dataclass
class _Slot:
    index: int
    pid: int = 0
    started: float = 0.0
    failures: int = 0  # deaths in a row, each before it had run STABLE seconds
    due: float | None = None  # when a replacement is to be forked


RunWorker = Callable[[Worker, Mapping[str, str]], int]


class _Supervisor:
    def __init__(
        self, workers: int, port: int, env: Mapping[str, str], run_worker: RunWorker
    ) -> None:
        self.slots = [_Slot(i) for i in range(workers)]
        self.port = port
        self.env = env
        self.run_worker = run_worker
        self.stopping = False
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.report_r, self.report_w = os.pipe2(os.O_CLOEXEC)
        self.inherited: list[int] = []  # fds the supervisor holds that a worker must close
        self.buffer = b""

    # --- processes ---------------------------------------------------------------------

    def fork(self, slot: _Slot) -> None:
        worker = Worker(slot.index, len(self.slots), os.getpid(), self.port, self.report_w)
        # Blocked across the fork: a stop asked for in between is delivered to the worker
        # once its own handlers are in place, never to the supervisor's copy of them.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        pid = os.fork()
        if pid == 0:
            self._child(worker)  # never returns
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        slot.pid, slot.started, slot.due = pid, time.monotonic(), None

    def _child(self, worker: Worker) -> None:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until its loop handles it
            for fd in (self.wake_r, self.wake_w, self.report_r, *self.inherited):
                with contextlib.suppress(OSError):
                    os.close(fd)
            _die_with(worker.supervisor)
            code = self.run_worker(worker, self.env)
        except BaseException:  # the worker's last word, whatever it was
            traceback.print_exc()
        finally:
            logging.shutdown()
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)  # never back into the supervisor's code (its finally clauses)

    def reap(self) -> list[tuple[_Slot, int, int]]:
        """The workers that exited since last asked: their slots, pids and wait statuses."""
        gone = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            for slot in self.slots:
                if slot.pid == pid:
                    slot.pid = 0
                    gone.append((slot, pid, status))
                    _mark_dead(pid)
        return gone

    def live(self) -> list[_Slot]:
        return [slot for slot in self.slots if slot.pid]

    def signal_all(self, sig: int, *, but: int | None = None) -> None:
        for slot in self.live():
            if slot.index == but:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.pid, sig)

    # --- the loop ----------------------------------------------------------------------

    def wait(self, selector: selectors.BaseSelector, timeout: float | None) -> list[str]:
        """Block until a signal, a worker's report or ``timeout``; the reports' lines."""
        lines: list[str] = []
        for key, _ in selector.select(timeout):
            if key.fd == self.wake_r:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.wake_r, 512):
                        pass
            else:
                self.buffer += os.read(self.report_r, 65536)
                *whole, self.buffer = self.buffer.split(b"\n")
                lines += [line.decode(errors="replace") for line in whole]
        return lines

    def start(self, selector: selectors.BaseSelector) -> None:
        """Fork every worker and wait until each listens; the first failure fails the start."""
        for slot in self.slots:
            self.fork(slot)
        waiting = {slot.index for slot in self.slots}
        while waiting:
            for line in self.wait(selector, None):
                said = _parse(line)
                if said.get("ready"):
                    waiting.discard(said["index"])
                elif said.get("ready") is False:
                    raise GatewayError(str(said.get("message")), fix=said.get("fix"))
            if self.stopping:
                raise _StoppedEarly
            for slot, _, status in self.reap():
                raise GatewayError(
                    f"gateway worker {slot.index} exited at start ({_status(status)})",
                    fix="see the lines above, or run with --workers 1 to see its error alone",
                )

    def serve(self, selector: selectors.BaseSelector) -> None:
        """Replace workers that die until asked to stop."""
        while not self.stopping:
            now = time.monotonic()
            due = [slot.due for slot in self.slots if slot.due is not None]
            for line in self.wait(selector, max(0.0, min(due) - now) if due else None):
                said = _parse(line)
                if said.get("reload"):
                    self.signal_all(signal.SIGHUP, but=said["index"])
                elif said.get("ready") is False:
                    log.error("gateway worker %d failed: %s", said["index"], said.get("message"))
            if self.stopping:
                break
            now = time.monotonic()
            for slot, pid, status in self.reap():
                lived = now - slot.started
                slot.failures = 0 if lived >= STABLE else slot.failures + 1
                delay = min(BACKOFF * 2 ** (slot.failures - 1), BACKOFF_MAX) if slot.failures else 0
                slot.due = now + delay
                log.warning(
                    "gateway worker %d (pid %d) exited (%s) after %.1f s; replacing it%s",
                    slot.index,
                    pid,
                    _status(status),
                    lived,
                    f" in {delay:g} s" if delay else "",
                )
            for slot in self.slots:
                if slot.due is not None and slot.due <= now and not slot.pid:
                    self.fork(slot)

    def stop(self, selector: selectors.BaseSelector, grace: float) -> None:
        """SIGTERM to every worker; wait for all, killing those past the grace period."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace + MARGIN
        while self.live():
            self.reap()
            left = deadline - time.monotonic()
            if not self.live():
                break
            if left <= 0:
                log.warning("gateway workers still running %g s after SIGTERM: killed", grace)
                self.signal_all(signal.SIGKILL)
                deadline = time.monotonic() + MARGIN
                continue
            self.wait(selector, left)


class _StoppedEarly(Exception):
    """SIGTERM or SIGINT while the workers were starting."""


def supervise(
    paths: Paths,
    env: Mapping[str, str],
    *,
    workers: int,
    bind: str,
    port: int,
    grace: float,
    run_worker: RunWorker,
    on_serving: Callable[[], None] | None,
    on_ready: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Run ``workers`` processes of ``run_worker`` on ``bind:port`` until SIGTERM/SIGINT.
    ``on_serving`` (the supervisor's logging) runs once they are up: nothing it opens, such
    as the vault, is in the supervisor when it forks them."""
    try:
        # Listened on alone first: a port another process serves, even one of this user's
        # with SO_REUSEPORT (another gateway's workers), is refused, not shared.
        with listen(bind, port) as alone:
            port = alone.getsockname()[1]
        reserved = _socket(bind, reuse_port=True)
        reserved.bind((bind, port))
    except OSError as exc:
        raise GatewayError(
            f"cannot listen on {bind}:{port}: {exc.strerror or exc}",
            fix="choose another --port, or stop what is using it",
        ) from None
    env = {**env, METRICS_ENV: str(metrics_dir(paths))}
    os.environ[METRICS_ENV] = env[METRICS_ENV]  # read by prometheus_client at import
    supervisor = _Supervisor(workers, reserved.getsockname()[1], env, run_worker)
    supervisor.inherited.append(reserved.fileno())
    selector = selectors.DefaultSelector()
    selector.register(supervisor.wake_r, selectors.EVENT_READ)
    selector.register(supervisor.report_r, selectors.EVENT_READ)

    def stop(signum: int, frame: object) -> None:
        supervisor.stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    old_wakeup = signal.set_wakeup_fd(supervisor.wake_w)
    try:
        try:
            supervisor.start(selector)
        except _StoppedEarly:
            return
        if on_serving:
            on_serving()  # the supervisor logs the workers it replaces
        facts = {"pid": os.getpid(), "bind": bind, "port": supervisor.port, "workers": workers}
        write_atomic(runtime_file(paths), json.dumps(facts).encode())
        if on_ready:
            on_ready(facts)
        supervisor.serve(selector)
    finally:
        supervisor.stop(selector, grace)  # also after a failed start: none is left running
        signal.set_wakeup_fd(old_wakeup)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        selector.close()
        for fd in (supervisor.wake_r, supervisor.wake_w, supervisor.report_r, supervisor.report_w):
            os.close(fd)
        reserved.close()


def _die_with(supervisor: int) -> None:
    """SIGTERM to this process when its supervisor exits, however it exits (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != supervisor:  # it died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _mark_dead(pid: int) -> None:
    """prometheus_client drops a dead process's live gauges (``livesum``, ``liveall``)."""
    if METRICS_ENV not in os.environ:
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _parse(line: str) -> dict[str, Any]:
    try:
        said = json.loads(line)
    except ValueError:
        return {}
    return said if isinstance(said, dict) and isinstance(said.get("index"), int) else {}


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"status {os.waitstatus_to_exitcode(status)}"


def worker_failed(worker: Worker, exc: BaseException) -> None:
    """Tell the supervisor why this worker could not start."""
    if isinstance(exc, ClawgateError):
        worker.failed(exc.message, exc.fix)
    else:
        worker.failed(f"{type(exc).__name__}: {exc}", None)

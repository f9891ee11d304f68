"""Running the gateway in the foreground: one per state directory (a lock file), bound to
127.0.0.1 unless configured, its address in ``<state>/gateway.json`` for the CLI, and a clean
stop on SIGTERM/SIGINT: uvicorn stops accepting, turns in flight get ``grace`` seconds to
finish.

uvicorn runs its httptools protocol (h11's where httptools is missing) with the deadlines for
slow clients (`_timeouts`), read from ``gateway.headerTimeout`` and ``gateway.bodyTimeout``
when the gateway starts.

With ``workers`` > 1 this process supervises that many worker processes on the one port
(`_workers`); each runs `_run` as a single gateway does, minus the lock and the runtime file,
which stay with the supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import math
import os
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import filelock
import uvicorn
from starlette.types import ASGIApp

from clawgate.config import Paths, Settings, load_config
from clawgate.fileio import write_atomic
from clawgate.gateway._app import create_app
from clawgate.gateway._state import Gateway
from clawgate.gateway._timeouts import slow_clients
from clawgate.gateway._workers import Worker, listen, supervise, worker_failed
from clawgate.service import (
    AlreadyRunning,
    GatewayError,
    gateway_token,
    read_runtime_file,
    runtime_file,
)
from clawgate.state import open_state
from clawgate.vault import Vault

__all__ = ["loop_factory", "serve", "server_config"]

GRACE_SECONDS = 30.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_serving: list[uvicorn.Server] = []  # the server of this process, once made
_asked: list[int] = []  # the stop signals that came before it was made


def _stopped(signum: int, frame: object) -> None:
    """A stop asked for outside uvicorn's own handlers: before they are installed (the
    runtime file already says the gateway is up), or after, re-raised by uvicorn when it is
    done. Either way the server is told to stop; a signal that came early is never lost."""
    _asked.append(signum)
    for server in _serving:
        server.should_exit = True


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's event loop where it is installed (a runtime dependency where it has wheels):
    socket writes and scheduling in libuv cost the relay a fraction of the stdlib loop's
    (README, "Performance"). Elsewhere the stdlib loop, which serves the same."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def server_config(
    app: ASGIApp, settings: Settings, *, grace: float = GRACE_SECONDS
) -> uvicorn.Config:
    """How uvicorn serves ``app``: quietly (clawgate logs for itself), with no lifespan, with
    the slow-client deadlines, letting turns in flight finish within ``grace`` at a stop."""
    return uvicorn.Config(
        app,
        http=slow_clients(settings.gateway.header_timeout, settings.gateway.body_timeout),
        ws="none",  # no route takes a WebSocket: an upgrade is not handed to another protocol
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=math.ceil(grace),
    )


def serve(
    paths: Paths,
    env: Mapping[str, str],
    *,
    bind: str,
    port: int,
    workers: int = 1,
    grace: float = GRACE_SECONDS,
    on_serving: Callable[[], None] | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT. ``on_serving`` runs in every process that serves, once
    uvicorn has set up logging (its Config replaces the setup it finds); ``on_ready`` once,
    with the runtime file's facts, when the port is served."""
    paths.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = filelock.FileLock(str(paths.state_dir / "gateway.lock"), timeout=0, mode=0o600)
    try:
        lock.acquire()
    except filelock.Timeout:
        facts = read_runtime_file(paths) or {}
        raise AlreadyRunning(
            f"a gateway is already running on this state directory ({paths.state_dir}"
            + (f", pid {facts['pid']}, {facts['bind']}:{facts['port']}" if facts else "")
            + ")",
            fix="stop it first (clawgate gateway stop), or use another CLAWGATE_STATE_DIR",
        ) from None
    # uvicorn handles SIGTERM/SIGINT while serving (stop accepting, let turns finish), then
    # re-raises the signal to the handler that was there before. That handler is this no-op,
    # so the cleanup below runs and a requested stop exits 0.
    _asked.clear()
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if workers > 1:
            # The state store made and migrated once, here, and closed before the fork: N
            # workers opening a new state.db at once would contend for its lock.
            open_state(load_config(paths.config_file, env).settings, paths, env).close()

            def work(worker: Worker, worker_env: Mapping[str, str]) -> int:
                return _work(paths, worker_env, worker, bind, grace, on_serving)

            supervise(
                paths,
                env,
                workers=workers,
                bind=bind,
                port=port,
                grace=grace,
                run_worker=work,
                on_serving=on_serving,
                on_ready=on_ready,
            )
            return
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(
                _run(
                    paths,
                    env,
                    bind=bind,
                    port=port,
                    grace=grace,
                    on_serving=on_serving,
                    on_ready=on_ready,
                )
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(FileNotFoundError):
            runtime_file(paths).unlink()
        lock.release()


def _work(
    paths: Paths,
    env: Mapping[str, str],
    worker: Worker,
    bind: str,
    grace: float,
    on_serving: Callable[[], None] | None,
) -> int:
    """One worker process, forked by the supervisor: a gateway on its share of the port."""
    _asked.clear()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(
                _run(
                    paths,
                    env,
                    bind=bind,
                    port=worker.port,
                    grace=grace,
                    on_serving=on_serving,
                    on_ready=lambda facts: worker.ready(),
                    worker=worker,
                )
            )
    except Exception as exc:
        worker_failed(worker, exc)
        return 1
    return 0


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(work: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _tasks.add(task)  # held until done: the loop keeps only a weak reference
    task.add_done_callback(_tasks.discard)


async def _run(
    paths: Paths,
    env: Mapping[str, str],
    *,
    bind: str,
    port: int,
    grace: float,
    on_serving: Callable[[], None] | None,
    on_ready: Callable[[dict[str, Any]], None] | None,
    worker: Worker | None = None,
) -> None:
    settings = load_config(paths.config_file, env).settings
    state = open_state(settings, paths, env)
    vault = Vault.open(paths.state_dir, env, backend=settings.state.backend)
    token = gateway_token(vault, env)
    if not _loopback(bind) and not token.reveal():
        raise GatewayError(
            f"refusing to listen on {bind} without a bearer token",
            fix="run `clawgate gateway token` to make one, or bind 127.0.0.1",
        )
    gateway = Gateway(
        paths,
        env,
        token=token,
        state=state,
        vault=vault,
        bind=bind,
        port=port,
        worker=worker,
    )
    # Bind first: the real port (for port 0) is known before serving starts.
    try:
        listener = worker.listen(bind) if worker else listen(bind, port)
    except OSError as exc:
        await gateway.aclose()
        raise GatewayError(
            f"cannot listen on {bind}:{port}: {exc.strerror or exc}",
            fix="choose another --port, or stop what is using it",
        ) from None
    gateway.port = listener.getsockname()[1]
    config = server_config(create_app(gateway), gateway.config.settings, grace=grace)
    if on_serving:
        on_serving()
    if worker:
        # SIGHUP from the supervisor: another worker was asked to reload (`_workers`).
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: _spawn(gateway.refresh(force=True))
        )
    server = uvicorn.Server(config)
    server.should_exit = bool(_asked)  # a stop that came while this process was starting
    _serving.append(server)
    facts = {"pid": os.getpid(), "bind": bind, "port": gateway.port}
    if worker is None:  # a worker's supervisor writes it, with its own pid
        write_atomic(runtime_file(paths), json.dumps(facts).encode())
    try:
        # Decisions and usage committed behind the answers; `state.close()` below commits
        # the last of them (docs/architecture.md, "The record writer").
        state.write_behind()
        if on_ready:
            on_ready(facts)
        await server.serve(sockets=[listener])
    finally:
        _serving.remove(server)
        await gateway.aclose()
        state.close()

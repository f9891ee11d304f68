"""Running the gateway in the foreground: one per state directory (a lock file), bound to
127.0.0.1 unless configured, its address in ``<state>/gateway.json`` for the CLI, and a clean
stop on SIGTERM/SIGINT: uvicorn stops accepting, turns in flight get ``grace`` seconds to
finish.

uvicorn runs its h11 protocol with the deadlines for slow clients (`_timeouts`), read from
``gateway.headerTimeout`` and ``gateway.bodyTimeout`` when the gateway starts."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import math
import os
import signal
import socket
from collections.abc import Callable, Mapping
from typing import Any

import filelock
import uvicorn
from starlette.types import ASGIApp

from clawgate.config import Paths, Settings
from clawgate.fileio import write_atomic
from clawgate.gateway._app import create_app
from clawgate.gateway._state import Gateway
from clawgate.gateway._timeouts import slow_clients
from clawgate.service import (
    AlreadyRunning,
    GatewayError,
    gateway_token,
    read_runtime_file,
    runtime_file,
)
from clawgate.state import State
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


def _stopped(signum: int, frame: object) -> None:
    """A stop asked for outside uvicorn's own handlers: before they are installed (the
    runtime file already says the gateway is up), or after, re-raised by uvicorn when it is
    done. Either way the server is told to stop; a signal that came early is never lost."""
    for server in _serving:
        server.should_exit = True


def _listen(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it every response waits out the peer's 40 ms delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


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
    grace: float = GRACE_SECONDS,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
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
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(_run(paths, env, bind=bind, port=port, grace=grace, on_ready=on_ready))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(FileNotFoundError):
            runtime_file(paths).unlink()
        lock.release()


async def _run(
    paths: Paths,
    env: Mapping[str, str],
    *,
    bind: str,
    port: int,
    grace: float,
    on_ready: Callable[[dict[str, Any]], None] | None,
) -> None:
    state = State.open(paths.state_db)
    vault = Vault.open(paths.state_dir, env)
    token = gateway_token(vault, env)
    if not _loopback(bind) and not token.reveal():
        raise GatewayError(
            f"refusing to listen on {bind} without a bearer token",
            fix="run `clawgate gateway token` to make one, or bind 127.0.0.1",
        )
    gateway = Gateway(paths, env, token=token, state=state, vault=vault, bind=bind, port=port)
    # Bind first: the real port (for port 0) is known before serving starts.
    try:
        listener = _listen(bind, port)
    except OSError as exc:
        await gateway.aclose()
        raise GatewayError(
            f"cannot listen on {bind}:{port}: {exc.strerror or exc}",
            fix="choose another --port, or stop what is using it",
        ) from None
    gateway.port = listener.getsockname()[1]
    config = server_config(create_app(gateway), gateway.config.settings, grace=grace)
    server = uvicorn.Server(config)
    _serving.append(server)
    facts = {"pid": os.getpid(), "bind": bind, "port": gateway.port}
    write_atomic(runtime_file(paths), json.dumps(facts).encode())
    try:
        if on_ready:
            on_ready(facts)
        await server.serve(sockets=[listener])
    finally:
        _serving.remove(server)
        await gateway.aclose()
        state.close()

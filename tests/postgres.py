"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (installed by
``scripts/install.sh``), a cluster made with ``initdb`` in a temporary directory, listening on
a free loopback port, stopped by its postmaster's PID. As root the server runs as the
``postgres`` system user (``initdb`` refuses root).

``PostgresServer.database()`` makes a fresh, empty database for one test, so tests never see
each other's rows and need no cleanup order."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

__all__ = ["PostgresServer", "postgres_bin", "running_postgres"]


def postgres_bin() -> Path:
    """The newest installed server's bin directory; a clear failure when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: apt-get install -y postgresql (scripts/install.sh does)"
        )
    return Path(found[-1]).parent


def _major(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, root: Path, port: int, run_as: str | None) -> None:
        self.root = root
        self.port = port
        self.run_as = run_as
        self.pid: int | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        subprocess.run(
            [*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def init(self) -> None:
        self._run(
            str(postgres_bin() / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        self._run(
            str(postgres_bin() / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "server.log"),
            "-o",
            # Loopback only; the socket in our own directory; no fsync (a test cluster).
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=300 -c full_page_writes=off",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def stop(self) -> None:
        """Fast shutdown by the postmaster's own PID (SIGINT), waiting until it is gone."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        # The postmaster is not our child (pg_ctl started it): wait for its pid file to go.
        pidfile = self.data / "postmaster.pid"
        deadline = time.monotonic() + 30
        while pidfile.exists() or _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.02)  # polling for the exit, not waiting for time to pass

    def database(self) -> str:
        """A fresh empty database; its connection string."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: hex only
        return self.url(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="clawgate-pg-"))
    try:
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server = PostgresServer(root, _free_port(), run_as)
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

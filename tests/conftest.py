from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawgate.config import Paths
from tests.canary import CANARY
from tests.fakes.model_api import FakeModelAPI
from tests.postgres import PostgresServer, running_postgres

# Session-wide leak check: every test's captured stdout/stderr, log records and failure report
# is searched for the planted canary secret; any sighting fails the whole run.
_leaks: list[str] = []


class _LeakWatch(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if CANARY in record.getMessage() or CANARY in repr(record.args):
            _leaks.append(f"log record from {record.name}")


_watch = _LeakWatch(level=logging.DEBUG)


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_watch)
    logging.getLogger("clawgate").setLevel(logging.DEBUG)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [report.capstdout, report.capstderr, report.caplog, report.longreprtext]
    if any(CANARY in text for text in texts):
        _leaks.append(f"{report.nodeid} ({report.when})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nSECRET LEAK: the canary secret appeared in: " + "; ".join(_leaks))


@pytest.fixture(scope="module")
def _model_api() -> Iterator[FakeModelAPI]:
    with FakeModelAPI() as fake:
        yield fake


@pytest.fixture
def api(_model_api: FakeModelAPI) -> Iterator[FakeModelAPI]:
    """The fault-injecting fake of the model APIs (one per test module), with nothing queued;
    what a test left queued is cleared after it too."""
    _model_api.reset()
    yield _model_api
    _model_api.reset()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose state dir is a fresh temporary directory."""
    return {"CLAWGATE_STATE_DIR": str(tmp_path / "state")}


@pytest.fixture
def paths(state_env: dict[str, str]) -> Paths:
    return Paths.from_env(state_env)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run (tests/postgres.py)."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the real server, for one test."""
    return postgres_server.database()

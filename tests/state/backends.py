"""Both state backends for a test: SQLite's ``state.db`` in ``tmp_path``, or PostgreSQL in a
fresh database on the session's real server (tests/postgres.py). ``backend.open()`` opens the
same records again, as a new process (or another replica) would.

The fixtures here are imported by the test modules that run on both (a fixture is found in
the module's namespace): ``from tests.state.backends import backend, state_backend``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clawgate.state import State, open_postgres

__all__ = ["BACKENDS", "Backend", "backend", "state_backend"]

BACKENDS = ("sqlite", "postgres")


@dataclass
class Backend:
    name: str  # sqlite | postgres
    path: Path  # state.db, for sqlite
    url: str | None  # the fresh database, for postgres
    opened: list[State] = field(default_factory=list)

    def open(self) -> State:
        """The same records, opened again (and migrated, as at every start)."""
        state = State(open_postgres(self.url)) if self.url else State.open(self.path)
        self.opened.append(state)
        return state

    def close(self) -> None:
        for state in self.opened:
            state.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    opened = Backend(request.param, tmp_path / "state" / "state.db", url)
    yield opened
    opened.close()


@pytest.fixture
def state_backend(backend: Backend) -> State:
    """A State on each backend in turn."""
    return backend.open()

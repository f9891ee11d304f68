"""The one opener by backend: ``state.backend`` says where the state records live, SQLite's
``state.db`` in the state directory (the default, needing nothing) or PostgreSQL at
``CLAWGATE_DATABASE_URL`` (never a config value: it holds a password)."""

from __future__ import annotations

from collections.abc import Mapping

from clawgate.config import Paths, Settings
from clawgate.postgres import database_url
from clawgate.state._pg import open_postgres
from clawgate.state._state import State

__all__ = ["existing_state", "open_state"]


def open_state(settings: Settings, paths: Paths, env: Mapping[str, str]) -> State:
    """Open (migrating) the state the settings name; `StoreUnavailable` when PostgreSQL is
    away, a `ClawgateError` with the fix when its connection string is not set."""
    if settings.state.backend == "postgres":
        return State(open_postgres(database_url(env)))
    return State.open(paths.state_db)


def existing_state(settings: Settings, paths: Paths, env: Mapping[str, str]) -> State | None:
    """The state for commands that only read it: None when there is none yet (no
    ``state.db``), so reading never creates one. PostgreSQL's is always there to open."""
    if settings.state.backend == "sqlite" and not paths.state_db.exists():
        return None
    return open_state(settings, paths, env)

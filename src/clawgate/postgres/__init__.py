"""PostgreSQL, for the ``postgres`` state backend (docs/architecture.md, "State backends"):
where the connection string comes from, how a connection is opened, and the one error a
person sees when the database is away. Both storage packages (``state`` and ``vault``) build
on it; it knows nothing of what they store.

The connection string comes only from ``CLAWGATE_DATABASE_URL``: it usually holds a password,
and a config file is shared, copied and pasted into issues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from clawgate.errors import ClawgateError
from clawgate.postgres._migrate import Named, migrate, pending

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DATABASE_URL_ENV",
    "Named",
    "StoreUnavailable",
    "connect",
    "database_url",
    "migrate",
    "pending",
    "redacted",
]

DATABASE_URL_ENV = "CLAWGATE_DATABASE_URL"


class StoreUnavailable(ClawgateError):
    """The state store cannot be reached (or refused us): turns that need it fail fast."""

    code = "state_store_unavailable"


def database_url(env: Mapping[str, str]) -> str:
    url = env.get(DATABASE_URL_ENV, "").strip()
    if not url:
        raise ClawgateError(
            f'state.backend is "postgres" but {DATABASE_URL_ENV} is not set',
            fix=f"export {DATABASE_URL_ENV}=postgresql://USER@HOST:5432/DBNAME",
        )
    return url


def redacted(url: str) -> str:
    """The connection string without its password, for messages and status output."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "(unparsable connection string)"
    if parts.get("password"):
        parts["password"] = "***"  # noqa: S105  (the mask, not a password)
    return make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    """One connection, failing within seconds (not the OS's minutes) when the server is away."""
    import psycopg

    try:
        return psycopg.connect(
            url, autocommit=autocommit, connect_timeout=5, application_name="clawgate"
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            f"the state store (PostgreSQL at {redacted(url)}) is unreachable: {_first_line(exc)}",
            fix=f"start the database, or check {DATABASE_URL_ENV}",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

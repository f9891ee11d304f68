"""`doctor`'s checks of the state store: which backend is in use and whether it is usable
(`state.check_store`), and no database connection string in the config file. The string
usually holds a password and the config file is not encrypted (and is shared, copied, pasted
into issues): it belongs in ``CLAWGATE_DATABASE_URL`` only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyjson5

from clawgate.postgres import DATABASE_URL_ENV

__all__ = ["URL_FIX", "urls_in_config"]

URL_FIX = (
    f"delete it from the config and move it to {DATABASE_URL_ENV} "
    f"(export {DATABASE_URL_ENV}=postgresql://USER:PASSWORD@HOST:5432/DBNAME)"
)
_MAX_BYTES = 1024 * 1024  # as the config loader: a bigger file is not read
_URL = re.compile(r"^\s*postgres(?:ql)?://", re.IGNORECASE)
_ANY_URL = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)
# Keys that name a connection string, however spelled (databaseUrl, database_url, dsn, …).
_KEYS = frozenset({"databaseurl", "databaseuri", "dburl", "dsn", "connectionstring", "pgurl"})


def urls_in_config(config_file: Path) -> list[str]:
    """Where the config file holds a connection string: key paths, never the value."""
    try:
        if config_file.stat().st_size > _MAX_BYTES:
            return []
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # the config check says why it cannot be read
    try:
        data = pyjson5.decode(text)
    except Exception:  # not JSON5: the config check reports that; the text is still looked at
        return ["(a value in the file)"] if _ANY_URL.search(text) else []
    return [".".join(path) or "(the whole file)" for path in _found(data, ())]


def _found(value: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            here = (*path, str(key))
            if _normal(str(key)) in _KEYS and inner not in (None, ""):
                yield here
            else:
                yield from _found(inner, here)
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from _found(inner, (*path, str(n)))
    elif isinstance(value, str) and _URL.match(value):
        yield path


def _normal(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")

"""Reading another tool's files without changing them: JSON5 documents and SQLite databases.

A SQLite database another tool may have open is never opened in place. Even a read-only
connection can write beside it: SQLite rebuilds a WAL index in ``-shm`` and may checkpoint or
delete ``-wal`` when the last connection closes (https://sqlite.org/wal.html, "Read-Only
Databases"). So the database and its ``-wal`` are copied into a private temporary directory
and the copy is read, with the committed transactions the WAL holds. If the copy cannot be
read, the file itself is opened ``mode=ro&immutable=1`` (https://sqlite.org/uri.html): no
locks, no journal, nothing written, only what the main file holds.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyjson5

__all__ = ["Unreadable", "obj", "read_json", "read_sqlite_rows"]


class Unreadable(Exception):
    """A file cannot be read as what it should be; the message names the file, no secret."""


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: foreign files are untrusted."""
    return value if isinstance(value, dict) else {}


def read_json(path: Path) -> Any:
    """The decoded JSON5 document; `FileNotFoundError` as is, `Unreadable` otherwise."""
    try:
        return pyjson5.decode(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, pyjson5.Json5Exception):
        raise Unreadable(f"{path} is not readable JSON") from None


def read_sqlite_rows(path: Path, queries: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    """Run each named query whose table exists; the rows by name. `Unreadable` when the
    file is not a SQLite database."""
    try:
        with _copy(path) as copy, closing(sqlite3.connect(copy)) as conn:
            return _run(conn, queries)
    except (OSError, sqlite3.Error):
        pass
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            return _run(conn, queries)
    except sqlite3.Error:
        raise Unreadable(f"{path} is not a readable SQLite database") from None


def _run(conn: sqlite3.Connection, queries: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return {
        table: conn.execute(query).fetchall() for table, query in queries.items() if table in tables
    }


@contextmanager
def _copy(path: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="clawgate-import-") as folder:
        target = Path(folder) / path.name
        shutil.copyfile(path, target)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))
        yield target

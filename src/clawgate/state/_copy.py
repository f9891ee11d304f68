"""Copy the state records from one backend to the other (``clawgate state migrate``): every
table, in one transaction on the target; the source is only read, never changed.

Safe to run twice: a row the target already holds (by its key, or the whole row where a table
has no key) is not copied again. Afterwards each table is verified: every source row is in
the target. Rowid-like columns (``messages.id``, ``turns.rowid``) are not copied; rows go in
in their order, so the target numbers them in the same order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clawgate.errors import ClawgateError
from clawgate.state._seam import Db

__all__ = ["TABLES", "CopyReport", "TableCopy", "copy_records"]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # what identifies a row; the whole row where the table has no key
    order: str  # the order rows are copied in (the order they were written)


def _t(name: str, columns: str, key: str = "", order: str = "") -> Table:
    cols = tuple(columns.split())
    return Table(name, cols, tuple(key.split()) or cols, order or ", ".join(cols))


# Parents before children (messages and attempts reference sessions and turns).
TABLES: tuple[Table, ...] = (
    _t("sessions", "key created_at updated_at", "key"),
    _t("messages", "session_key turn_id role content body created_at", order="id"),
    _t(
        "turns",
        "turn_id session_key requested started_at ended_at outcome model profile fallback "
        "failure client_key",
        "turn_id",
        "rowid",
    ),
    _t(
        "attempts",
        "turn_id seq candidate profile decision reason status code message first_token_ms "
        "end_ms next",
        "turn_id seq",
    ),
    _t(
        "health",
        'key kind profile model generation until failures "window" reason updated_at',
        "key",
    ),
    _t(
        "usage",
        "turn_id provider model profile billing input_tokens output_tokens at client_key "
        "cached_tokens reasoning_tokens",
        order="at, turn_id",
    ),
    _t("probes", "profile at ran_in pid ok failure result", order="at, profile"),
    _t(
        "responses",
        "id created_at model status previous_id input output usage body",
        "id",
        "created_at, id",
    ),
    _t("telegram_access", "chat_id role name added_at", "chat_id"),
    _t(
        "telegram_pairing",
        "code user_id chat_id name created_at expires_at used_at",
        "code",
    ),
    _t("telegram_updates", "update_id received_at done_at body", "update_id"),
    _t("telegram_kv", "key value", "key"),
    _t("telegram_chats", "chat_key epoch model", "chat_key"),
    _t("telegram_told", "profile incident at", "profile"),
)


@dataclass(frozen=True)
class TableCopy:
    table: str
    source: int  # rows in the source
    copied: int  # rows written now
    already: int  # source rows the target held before
    target: int  # rows in the target afterwards


@dataclass(frozen=True)
class CopyReport:
    tables: tuple[TableCopy, ...]

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)


class CopyMismatch(ClawgateError):
    code = "state_copy_mismatch"


def copy_records(source: Db, target: Db) -> CopyReport:
    """Copy what the target lacks; verify that it then holds every source row."""
    done: list[TableCopy] = []
    with target.transaction(lock="copy"):
        for table in TABLES:
            done.append(_copy(table, source, target))
    return CopyReport(tuple(done))


def _copy(table: Table, source: Db, target: Db) -> TableCopy:
    columns = ", ".join(table.columns)
    rows = [
        _same(tuple(row), target)
        for row in source.execute(
            f"SELECT {columns} FROM {table.name} ORDER BY {table.order}"  # noqa: S608 (fixed)
        ).fetchall()
    ]
    at = [table.columns.index(k) for k in table.key]
    held = {_key(tuple(r), range(len(table.key))) for r in _keys(table, target)}
    missing = [r for r in rows if _key(r, at) not in held]
    marks = ", ".join("?" for _ in table.columns)
    if missing:
        target.executemany(
            f"INSERT INTO {table.name} ({columns}) VALUES ({marks})",  # noqa: S608 (fixed)
            missing,
        )
    after = {_key(tuple(r), range(len(table.key))) for r in _keys(table, target)}
    lost = [r for r in rows if _key(r, at) not in after]
    if lost:
        raise CopyMismatch(
            f"{table.name}: {len(lost)} of {len(rows)} rows are not in the target after the copy",
            fix="nothing was committed; run it again, and report it if it repeats",
        )
    count = target.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()  # noqa: S608
    return TableCopy(table.name, len(rows), len(missing), len(rows) - len(missing), int(count[0]))


def _keys(table: Table, db: Db) -> list[Sequence[object]]:
    keys = ", ".join(table.key)
    return [tuple(r) for r in db.execute(f"SELECT {keys} FROM {table.name}").fetchall()]  # noqa: S608


def _key(row: Sequence[object], at: Sequence[int] | range) -> tuple[object, ...]:
    return tuple(row[i] for i in at)


def _same(row: tuple[object, ...], target: Db) -> tuple[object, ...]:
    # As the target will hold it: PostgreSQL's text cannot hold NUL (`_pg._params`).
    if target.dialect != "postgres":
        return row
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)

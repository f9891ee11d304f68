"""The Telegram channel's state: who may talk to the bot (the owner, allowed users and groups,
denied users), pairing codes, the update inbox and offset, each chat's session and model pin,
and which dead logins the owner was told about.

Updates go through an inbox: one transaction stores a fetched update (once per ``update_id``)
and advances the offset, so a restart neither fetches it again nor loses it; an update is
marked done when it was answered, and the ones not done are handled again after a restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from clawgate.state._seam import Db
from clawgate.state._writer import RecordWriter

__all__ = ["ChatAccess", "Pairing", "PendingUpdate", "TelegramStore"]

Role = Literal["owner", "allowed", "denied"]
CodeState = Literal["ok", "used", "expired", "unknown"]


@dataclass(frozen=True)
class ChatAccess:
    chat_id: int  # a user's id, or a group's (negative) chat id
    role: Role
    name: str | None
    added_at: float


@dataclass(frozen=True)
class Pairing:
    code: str
    user_id: int
    chat_id: int
    name: str | None
    created_at: float
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class PendingUpdate:
    update_id: int
    body: str  # the update as the Bot API sent it, JSON


class TelegramStore:
    def __init__(self, db: Db, records: RecordWriter | None = None) -> None:
        self.db = db
        self.records = records or RecordWriter(db)  # the turns `chat_tokens` reads

    # Who may talk -----------------------------------------------------------------------

    def access(self, chat_id: int) -> ChatAccess | None:
        row = self.db.execute(
            "SELECT * FROM telegram_access WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return ChatAccess(**dict(row)) if row else None

    def everyone(self) -> list[ChatAccess]:
        rows = self.db.execute("SELECT * FROM telegram_access ORDER BY added_at, chat_id")
        return [ChatAccess(**dict(r)) for r in rows.fetchall()]

    def owner(self) -> ChatAccess | None:
        row = self.db.execute(
            "SELECT * FROM telegram_access WHERE role = 'owner' ORDER BY added_at LIMIT 1"
        ).fetchone()
        return ChatAccess(**dict(row)) if row else None

    def allow(self, chat_id: int, name: str | None, *, now: float) -> ChatAccess:
        """Allow ``chat_id``; the first user allowed (not a group) becomes the owner."""
        with self.db.transaction(lock="telegram"):
            current = self.access(chat_id)
            if current and current.role in ("owner", "allowed"):
                return current
            has_owner = self.owner() is not None
            role: Role = "allowed" if has_owner or chat_id < 0 else "owner"
            self.db.execute(
                "INSERT INTO telegram_access (chat_id, role, name, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET role = excluded.role, "
                "name = COALESCE(excluded.name, telegram_access.name), "
                "added_at = excluded.added_at",
                (chat_id, role, name, now),
            )
        return ChatAccess(chat_id, role, name, now)

    def deny(self, chat_id: int, *, now: float) -> None:
        """Take ``chat_id``'s access away (an owner too) and refuse its pairing codes."""
        with self.db.transaction(lock="telegram"):
            self.db.execute(
                "INSERT INTO telegram_access (chat_id, role, name, added_at) "
                "VALUES (?, 'denied', NULL, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET role = 'denied', added_at = excluded.added_at",
                (chat_id, now),
            )
            self.db.execute(
                "UPDATE telegram_pairing SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                (now, chat_id),
            )

    # Pairing codes ----------------------------------------------------------------------

    def add_code(self, pairing: Pairing) -> None:
        self.db.execute(
            "INSERT INTO telegram_pairing (code, user_id, chat_id, name, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                pairing.code,
                pairing.user_id,
                pairing.chat_id,
                pairing.name,
                pairing.created_at,
                pairing.expires_at,
            ),
        )

    def codes_since(self, user_id: int, since: float) -> list[Pairing]:
        rows = self.db.execute(
            "SELECT * FROM telegram_pairing WHERE user_id = ? AND created_at >= ? "
            "ORDER BY created_at",
            (user_id, since),
        )
        return [Pairing(**dict(r)) for r in rows.fetchall()]

    def pending_codes(self, now: float) -> list[Pairing]:
        rows = self.db.execute(
            "SELECT * FROM telegram_pairing WHERE used_at IS NULL AND expires_at > ? "
            "ORDER BY created_at",
            (now,),
        )
        return [Pairing(**dict(r)) for r in rows.fetchall()]

    def use_code(self, code: str, *, now: float) -> tuple[Pairing | None, CodeState]:
        """Mark the code used: its pairing and "ok", or why it cannot be used."""
        with self.db.transaction(lock="telegram"):
            row = self.db.execute(
                "SELECT * FROM telegram_pairing WHERE code = ?", (code,)
            ).fetchone()
            if row is None:
                return None, "unknown"
            found = Pairing(**dict(row))
            if found.used_at is not None:
                return found, "used"
            if found.expires_at <= now:
                return found, "expired"
            self.db.execute("UPDATE telegram_pairing SET used_at = ? WHERE code = ?", (now, code))
            return Pairing(**{**dict(row), "used_at": now}), "ok"

    # Updates ----------------------------------------------------------------------------

    def offset(self) -> int:
        """The next update id to ask for (0: whatever the Bot API has)."""
        row = self.db.execute("SELECT value FROM telegram_kv WHERE key = 'offset'").fetchone()
        return int(row[0]) if row else 0

    def receive(self, updates: Iterable[tuple[int, str]], *, now: float) -> list[int]:
        """Store fetched updates and move the offset past them, in one transaction; the ids
        not seen before (a dedupe by ``update_id``)."""
        new: list[int] = []
        with self.db.transaction(lock="telegram"):
            highest = self.offset() - 1
            for update_id, body in updates:
                highest = max(highest, update_id)
                added = self.db.execute(
                    "INSERT INTO telegram_updates (update_id, received_at, body) "
                    "VALUES (?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
                    (update_id, now, body),
                )
                if added.rowcount:
                    new.append(update_id)
            self.db.execute(
                "INSERT INTO telegram_kv (key, value) VALUES ('offset', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(highest + 1),),
            )
        return new

    def pending(self) -> list[PendingUpdate]:
        rows = self.db.execute(
            "SELECT update_id, body FROM telegram_updates WHERE done_at IS NULL ORDER BY update_id"
        )
        return [PendingUpdate(r[0], r[1]) for r in rows.fetchall()]

    def done(self, update_id: int, *, now: float) -> None:
        self.db.execute(
            "UPDATE telegram_updates SET done_at = ?, body = '' WHERE update_id = ?",
            (now, update_id),
        )

    def forget_done(self, before: float) -> None:
        """Drop the inbox rows answered before ``before`` (their ids are below the offset)."""
        self.db.execute(
            "DELETE FROM telegram_updates WHERE done_at IS NOT NULL AND done_at < ?", (before,)
        )

    # Chats ------------------------------------------------------------------------------

    def chat(self, chat_key: str) -> tuple[int, str | None]:
        """(session number, pinned model) of a chat (or forum topic)."""
        row = self.db.execute(
            "SELECT epoch, model FROM telegram_chats WHERE chat_key = ?", (chat_key,)
        ).fetchone()
        return (int(row[0]), row[1]) if row else (1, None)

    def new_session(self, chat_key: str) -> int:
        with self.db.transaction(lock="telegram"):
            epoch, model = self.chat(chat_key)
            self._put_chat(chat_key, epoch + 1, model)
        return epoch + 1

    def pin(self, chat_key: str, model: str | None) -> None:
        with self.db.transaction(lock="telegram"):
            epoch, _ = self.chat(chat_key)
            self._put_chat(chat_key, epoch, model)

    def _put_chat(self, chat_key: str, epoch: int, model: str | None) -> None:
        self.db.execute(
            "INSERT INTO telegram_chats (chat_key, epoch, model) VALUES (?, ?, ?) "
            "ON CONFLICT(chat_key) DO UPDATE SET epoch = excluded.epoch, model = excluded.model",
            (chat_key, epoch, model),
        )

    def chat_tokens(self, session_prefix: str) -> tuple[int, int, int]:
        """(turns, input tokens, output tokens) of the sessions whose key starts so."""
        self.records.settle()
        pattern = session_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(u.input_tokens), 0), COALESCE(SUM(u.output_tokens), 0) "
            "FROM usage u JOIN turns t ON t.turn_id = u.turn_id "
            "WHERE t.session_key LIKE ? ESCAPE '\\'",
            (pattern + "%",),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    # The owner told once per dead login ------------------------------------------------

    def told(self) -> dict[str, str]:
        rows = self.db.execute("SELECT profile, incident FROM telegram_told")
        return {r[0]: r[1] for r in rows.fetchall()}

    def tell(self, profile: str, incident: str, *, now: float) -> None:
        self.db.execute(
            "INSERT INTO telegram_told (profile, incident, at) VALUES (?, ?, ?) "
            "ON CONFLICT(profile) DO UPDATE SET incident = excluded.incident, at = excluded.at",
            (profile, incident, now),
        )

    def healed(self, profile: str) -> None:
        self.db.execute("DELETE FROM telegram_told WHERE profile = ?", (profile,))

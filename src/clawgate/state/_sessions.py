"""Conversation history per session key (a Telegram chat, a terminal session)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clawgate.state._seam import Db

__all__ = ["SessionStore", "StoredMessage"]


@dataclass(frozen=True)
class StoredMessage:
    role: str
    content: str  # the text
    body: str | None = None  # the whole message as JSON; None in rows from before 0006


class SessionStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    def history(self, session_key: str) -> list[StoredMessage]:
        rows = self.db.execute(
            "SELECT role, content, body FROM messages WHERE session_key = ? ORDER BY id",
            (session_key,),
        ).fetchall()
        return [StoredMessage(r["role"], r["content"], r["body"]) for r in rows]

    def append(
        self, session_key: str, turn_id: str, messages: Iterable[StoredMessage], *, now: float
    ) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO sessions (key, created_at, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET updated_at = excluded.updated_at",
                (session_key, now, now),
            )
            self.db.executemany(
                "INSERT INTO messages (session_key, turn_id, role, content, body, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(session_key, turn_id, m.role, m.content, m.body, now) for m in messages],
            )

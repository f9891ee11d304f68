"""Tokens used per answered turn, by the model and profile that answered."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["UsageRecord", "UsageStore"]


@dataclass(frozen=True)
class UsageRecord:
    turn_id: str
    provider: str
    model: str
    profile: str
    billing: str | None
    input_tokens: int | None
    output_tokens: int | None
    at: float


class UsageStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, record: UsageRecord) -> None:
        self.conn.execute(
            "INSERT INTO usage (turn_id, provider, model, profile, billing, input_tokens, "
            "output_tokens, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.turn_id,
                record.provider,
                record.model,
                record.profile,
                record.billing,
                record.input_tokens,
                record.output_tokens,
                record.at,
            ),
        )

    def for_turn(self, turn_id: str) -> list[UsageRecord]:
        rows = self.conn.execute("SELECT * FROM usage WHERE turn_id = ?", (turn_id,)).fetchall()
        return [UsageRecord(**dict(row)) for row in rows]

    def last_used(self) -> dict[str, float]:
        """When each profile last answered a turn."""
        rows = self.conn.execute("SELECT profile, MAX(at) FROM usage GROUP BY profile")
        return {profile: at for profile, at in rows.fetchall()}

    def last_model(self, profile: str) -> str | None:
        """The model the profile last answered with."""
        row = self.conn.execute(
            "SELECT model FROM usage WHERE profile = ? ORDER BY at DESC LIMIT 1", (profile,)
        ).fetchone()
        return str(row[0]) if row else None

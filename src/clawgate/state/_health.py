"""Health marks (cooldowns, blocks, circuits) as rows, so they survive a restart. What they
mean and when they are set is routing's business (`clawgate.routing._health`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["HealthMark", "HealthStore"]


@dataclass(frozen=True)
class HealthMark:
    key: str
    kind: str  # cooldown | block | circuit
    profile: str
    model: str | None
    generation: int | None  # the profile's material generation when marked
    until: float
    failures: int
    window: float
    reason: str
    updated_at: float


class HealthStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self) -> list[HealthMark]:
        rows = self.conn.execute("SELECT * FROM health").fetchall()
        return [HealthMark(**dict(row)) for row in rows]

    def put(self, mark: HealthMark) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO health (key, kind, profile, model, generation, until, "
            "failures, window, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mark.key,
                mark.kind,
                mark.profile,
                mark.model,
                mark.generation,
                mark.until,
                mark.failures,
                mark.window,
                mark.reason,
                mark.updated_at,
            ),
        )

    def delete(self, key: str) -> None:
        self.conn.execute("DELETE FROM health WHERE key = ?", (key,))

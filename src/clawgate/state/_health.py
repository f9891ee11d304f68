"""Health marks (cooldowns, blocks, circuits) as rows, so they survive a restart. What they
mean and when they are set is routing's business (`clawgate.routing._health`)."""

from __future__ import annotations

from dataclasses import dataclass

from clawgate.state._seam import Db

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
    def __init__(self, db: Db) -> None:
        self.db = db
        self._seen: object = None

    def changed_elsewhere(self) -> bool:
        """Whether another process may have written marks since the last call: always on
        PostgreSQL (replicas), and on SQLite when another connection committed to the file
        (gateway workers, a CLI), which ``PRAGMA data_version`` tells without reading a row
        (sqlite.org/pragma.html#pragma_data_version)."""
        if self.db.dialect == "postgres":
            return True
        # fetchall(): a statement left unfinished would hold a read snapshot open (WAL).
        version: object = self.db.execute("PRAGMA data_version").fetchall()[0][0]
        changed = version != self._seen
        self._seen = version
        return changed

    def all(self) -> list[HealthMark]:
        rows = self.db.execute("SELECT * FROM health").fetchall()
        return [HealthMark(**dict(row)) for row in rows]

    def put(self, mark: HealthMark) -> None:
        self.db.execute(
            # "window" quoted: a reserved word in PostgreSQL.
            'INSERT INTO health (key, kind, profile, model, generation, until, failures, "window", '
            "reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, profile = excluded.profile, "
            "model = excluded.model, generation = excluded.generation, until = excluded.until, "
            'failures = excluded.failures, "window" = excluded."window", '
            "reason = excluded.reason, updated_at = excluded.updated_at",
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
        self.db.execute("DELETE FROM health WHERE key = ?", (key,))

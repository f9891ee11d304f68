"""Probe results (``models status --probe``), kept so that status can show the last one
without a network call, and so that it is on record which process ran it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from clawgate.state._seam import Db, Row

__all__ = ["ProbeRecord", "ProbeStore"]


@dataclass(frozen=True)
class ProbeRecord:
    profile: str
    at: float
    ran_in: str  # gateway | process
    pid: int
    ok: bool
    failure: str | None
    result: dict[str, Any]


class ProbeStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    def add(self, record: ProbeRecord) -> None:
        self.db.execute(
            "INSERT INTO probes (profile, at, ran_in, pid, ok, failure, result) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.profile,
                record.at,
                record.ran_in,
                record.pid,
                int(record.ok),
                record.failure,
                json.dumps(record.result),
            ),
        )

    def latest(self) -> dict[str, ProbeRecord]:
        """Each profile's newest probe."""
        rows = self.db.execute(
            "SELECT p.* FROM probes p JOIN (SELECT profile, MAX(at) AS at FROM probes "
            "GROUP BY profile) newest USING (profile, at)"
        ).fetchall()
        return {row["profile"]: _record(row) for row in rows}


def _record(row: Row) -> ProbeRecord:
    return ProbeRecord(
        profile=row["profile"],
        at=row["at"],
        ran_in=row["ran_in"],
        pid=row["pid"],
        ok=bool(row["ok"]),
        failure=row["failure"],
        result=json.loads(row["result"]),
    )

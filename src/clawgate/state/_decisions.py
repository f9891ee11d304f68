"""Decision records (ROUTING.md, "Decision records"): one row per turn, one per attempt or
skip, written once when the turn ends; read back by ``clawgate models decisions``."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["AttemptRecord", "DecisionStore", "TurnRecord"]


@dataclass(frozen=True)
class AttemptRecord:
    candidate: str  # provider/model
    profile: str
    decision: str  # attempt | skip_cooldown | skip_policy | skip_needs_login | failed | succeeded
    reason: str | None = None  # a failure class, or policy_billing_kind, …
    status: int | None = None
    code: str | None = None  # the provider's error code
    message: str | None = None
    first_token_ms: float | None = None
    end_ms: float | None = None
    next: str | None = None  # the candidate tried after this one


@dataclass(frozen=True)
class TurnRecord:
    turn_id: str
    session_key: str | None
    requested: str | None
    started_at: float
    ended_at: float
    outcome: str  # succeeded | failed
    model: str | None = None
    profile: str | None = None
    fallback: bool = False
    failure: str | None = None
    attempts: tuple[AttemptRecord, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class DecisionStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def record(self, turn: TurnRecord) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO turns (turn_id, session_key, requested, started_at, ended_at, "
                "outcome, model, profile, fallback, failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn.turn_id,
                    turn.session_key,
                    turn.requested,
                    turn.started_at,
                    turn.ended_at,
                    turn.outcome,
                    turn.model,
                    turn.profile,
                    int(turn.fallback),
                    turn.failure,
                ),
            )
            self.conn.executemany(
                "INSERT INTO attempts (turn_id, seq, candidate, profile, decision, reason, "
                "status, code, message, first_token_ms, end_ms, next) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        turn.turn_id,
                        seq,
                        a.candidate,
                        a.profile,
                        a.decision,
                        a.reason,
                        a.status,
                        a.code,
                        a.message,
                        a.first_token_ms,
                        a.end_ms,
                        a.next,
                    )
                    for seq, a in enumerate(turn.attempts)
                ],
            )

    def get(self, turn_id: str) -> TurnRecord | None:
        row = self.conn.execute("SELECT * FROM turns WHERE turn_id = ?", (turn_id,)).fetchone()
        return self._turn(row) if row else None

    def last(self, n: int) -> list[TurnRecord]:
        """The newest ``n`` turns, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM turns ORDER BY started_at DESC, rowid DESC LIMIT ?", (n,)
        ).fetchall()
        return [self._turn(row) for row in reversed(rows)]

    def _turn(self, row: sqlite3.Row) -> TurnRecord:
        attempts = self.conn.execute(
            "SELECT * FROM attempts WHERE turn_id = ? ORDER BY seq", (row["turn_id"],)
        ).fetchall()
        turn = _columns(TurnRecord, row, skip="attempts")
        turn["fallback"] = bool(turn["fallback"])
        return TurnRecord(
            **turn, attempts=tuple(AttemptRecord(**_columns(AttemptRecord, a)) for a in attempts)
        )


def _columns(record: type, row: sqlite3.Row, skip: str = "") -> dict[str, Any]:
    return {f.name: row[f.name] for f in fields(record) if f.name != skip}

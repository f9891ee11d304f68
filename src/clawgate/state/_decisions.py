"""Decision records (docs/routing.md, "Decision records"): one row per turn, one per attempt or
skip, written once when the turn ends; read back by ``clawgate models decisions``.

What goes in is bounded, whatever a request or an upstream made of it: a name (a model ref,
a profile, a code) at most `MAX_NAME` characters, a message at most `MAX_MESSAGE`, a turn at
most `MAX_ATTEMPTS` attempts; longer text is cut and ends in "…". Text that cannot be
stored as UTF-8 (a lone surrogate) has it replaced by "?", so a record is always written."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from clawgate.state._caller import CLIENT_KEY
from clawgate.state._seam import Db, Row
from clawgate.state._writer import RecordWriter

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_MESSAGE",
    "MAX_NAME",
    "AttemptRecord",
    "DecisionStore",
    "TurnRecord",
]

MAX_NAME = 512  # characters of a ref, profile, decision, reason or code
MAX_MESSAGE = 2_000  # characters of an attempt's message
MAX_ATTEMPTS = 256  # attempt rows of one turn


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
    client_key: str | None = field(default_factory=CLIENT_KEY.get)  # the request's, if any

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class DecisionStore:
    def __init__(self, db: Db, writer: RecordWriter | None = None) -> None:
        self.db = db
        self.writer = writer or RecordWriter(db)

    def record(self, turn: TurnRecord) -> None:
        """Write the turn's record: at once, or behind the answer once the writer runs."""
        row = (
            _name(turn.turn_id),
            _name(turn.session_key),
            _name(turn.requested),
            turn.started_at,
            turn.ended_at,
            _name(turn.outcome),
            _name(turn.model),
            _name(turn.profile),
            int(turn.fallback),
            _name(turn.failure),
            _name(turn.client_key),
        )
        attempts = [
            (
                _name(turn.turn_id),
                seq,
                _name(a.candidate),
                _name(a.profile),
                _name(a.decision),
                _name(a.reason),
                a.status,
                _name(a.code),
                _bounded(a.message, MAX_MESSAGE),
                a.first_token_ms,
                a.end_ms,
                _name(a.next),
            )
            for seq, a in enumerate(turn.attempts[:MAX_ATTEMPTS])
        ]

        def write(db: Db) -> None:
            db.execute(
                "INSERT INTO turns (turn_id, session_key, requested, started_at, ended_at, "
                "outcome, model, profile, fallback, failure, client_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            db.executemany(
                "INSERT INTO attempts (turn_id, seq, candidate, profile, decision, reason, "
                "status, code, message, first_token_ms, end_ms, next) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                attempts,
            )

        self.writer.submit(write)

    def get(self, turn_id: str) -> TurnRecord | None:
        self.writer.settle()
        row = self.db.execute("SELECT * FROM turns WHERE turn_id = ?", (turn_id,)).fetchone()
        return self._turn(row) if row else None

    def last(self, n: int) -> list[TurnRecord]:
        """The newest ``n`` turns, oldest first. Two queries, whatever ``n`` (one per turn
        held the gateway's event loop half a second for 10,000 turns)."""
        self.writer.settle()
        rows = self.db.execute(
            "SELECT * FROM turns ORDER BY started_at DESC, rowid DESC LIMIT ?", (n,)
        ).fetchall()
        attempts: dict[str, list[Row]] = {row["turn_id"]: [] for row in rows}
        for attempt in self.db.execute(
            "SELECT * FROM attempts WHERE turn_id IN (SELECT turn_id FROM turns "
            "ORDER BY started_at DESC, rowid DESC LIMIT ?) ORDER BY turn_id, seq",
            (n,),
        ):
            attempts[attempt["turn_id"]].append(attempt)
        return [self._record(row, attempts[row["turn_id"]]) for row in reversed(rows)]

    def last_tried(self) -> dict[str, tuple[float, str]]:
        """When each profile was last sent a request (its turn's start) and how that attempt
        ended (succeeded, failed, client_gone): a failed turn counts, a skip does not."""
        self.writer.settle()
        # Each profile's newest attempt (its turn's latest, then its last in that turn).
        rows = self.db.execute(
            "SELECT profile, started_at, decision FROM (SELECT a.profile, t.started_at, "
            "a.decision, ROW_NUMBER() OVER (PARTITION BY a.profile "
            "ORDER BY t.started_at DESC, a.seq DESC) AS n FROM attempts a "
            "JOIN turns t ON t.turn_id = a.turn_id WHERE a.decision NOT LIKE 'skip%') newest "
            "WHERE n = 1"
        )
        return {profile: (at, decision) for profile, at, decision in rows.fetchall()}

    def _turn(self, row: Row) -> TurnRecord:
        attempts = self.db.execute(
            "SELECT * FROM attempts WHERE turn_id = ? ORDER BY seq", (row["turn_id"],)
        ).fetchall()
        return self._record(row, attempts)

    @staticmethod
    def _record(row: Row, attempts: list[Row]) -> TurnRecord:
        turn = _columns(TurnRecord, row, skip="attempts")
        turn["fallback"] = bool(turn["fallback"])
        return TurnRecord(
            **turn, attempts=tuple(AttemptRecord(**_columns(AttemptRecord, a)) for a in attempts)
        )


def _name(text: str | None) -> str | None:
    return _bounded(text, MAX_NAME)


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _columns(record: type, row: Row, skip: str = "") -> dict[str, Any]:
    return {f.name: row[f.name] for f in fields(record) if f.name != skip}

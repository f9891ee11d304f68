"""Tokens used per answered turn, by the model and profile that answered."""

from __future__ import annotations

from dataclasses import dataclass, field

from clawgate.state._caller import CLIENT_KEY
from clawgate.state._seam import Db
from clawgate.state._writer import RecordWriter

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
    client_key: str | None = field(default_factory=CLIENT_KEY.get)  # the request's, if any
    cached_tokens: int | None = None  # of the input, served from the provider's cache
    reasoning_tokens: int | None = None  # of the output, spent on reasoning


class UsageStore:
    def __init__(self, db: Db, writer: RecordWriter | None = None) -> None:
        self.db = db
        self.writer = writer or RecordWriter(db)

    def add(self, record: UsageRecord) -> None:
        """Write it at once, or behind the answer once the writer runs."""
        self.writer.submit(lambda db: _insert(db, record))

    def for_turn(self, turn_id: str) -> list[UsageRecord]:
        self.writer.settle()
        rows = self.db.execute("SELECT * FROM usage WHERE turn_id = ?", (turn_id,)).fetchall()
        return [UsageRecord(**dict(row)) for row in rows]

    def tokens_since(self, since: float) -> dict[str, int]:
        """Tokens (input and output) each profile answered with since ``since``: what is
        committed (a turn that ended this instant may still be on its way; it is a balance,
        not a limit)."""
        rows = self.db.execute(
            "SELECT profile, SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) "
            "FROM usage WHERE at >= ? GROUP BY profile",
            (since,),
        )
        return {profile: int(total) for profile, total in rows.fetchall()}

    def key_tokens_since(self, client_key: str, since: float) -> int:
        """Tokens (input and output) answered for one client key since ``since``, every
        turn this process answered included (a limit)."""
        self.writer.settle()
        row = self.db.execute(
            "SELECT SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) "
            "FROM usage WHERE client_key = ? AND at >= ?",
            (client_key, since),
        ).fetchone()
        return int(row[0] or 0)

    def last_used(self) -> dict[str, float]:
        """When each profile last answered a turn."""
        self.writer.settle()
        rows = self.db.execute("SELECT profile, MAX(at) FROM usage GROUP BY profile")
        return {profile: at for profile, at in rows.fetchall()}

    def last_model(self, profile: str) -> str | None:
        """The model the profile last answered with."""
        self.writer.settle()
        row = self.db.execute(
            "SELECT model FROM usage WHERE profile = ? ORDER BY at DESC LIMIT 1", (profile,)
        ).fetchone()
        return str(row[0]) if row else None


def _insert(db: Db, record: UsageRecord) -> None:
    db.execute(
        "INSERT INTO usage (turn_id, provider, model, profile, billing, input_tokens, "
        "output_tokens, at, client_key, cached_tokens, reasoning_tokens) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.turn_id,
            record.provider,
            record.model,
            record.profile,
            record.billing,
            record.input_tokens,
            record.output_tokens,
            record.at,
            record.client_key,
            record.cached_tokens,
            record.reasoning_tokens,
        ),
    )

"""Stored responses of the gateway's Responses API (``store: true``): each answer as it was
sent, and the conversation it carries on, so that ``previous_response_id`` can continue it.

Messages are kept as the JSON records the caller hands over (the conversation model's own
records); this store does not read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from clawgate.state._seam import Db, Row

__all__ = ["ResponseStore", "StoredResponse"]


@dataclass(frozen=True)
class StoredResponse:
    id: str
    created_at: float
    model: str | None  # provider/model that answered
    status: str  # completed | incomplete | failed
    previous_id: str | None  # the response this one continued
    input: list[dict[str, Any]]  # this request's own messages
    output: list[dict[str, Any]]  # the answer's messages
    usage: dict[str, Any] | None
    body: dict[str, Any]  # the response object, as it was answered


class ResponseStore:
    def __init__(self, db: Db) -> None:
        self.db = db

    def add(self, response: StoredResponse) -> None:
        self.db.execute(
            "INSERT INTO responses (id, created_at, model, status, previous_id, input, output, "
            "usage, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "created_at = excluded.created_at, model = excluded.model, "
            "status = excluded.status, previous_id = excluded.previous_id, "
            "input = excluded.input, output = excluded.output, usage = excluded.usage, "
            "body = excluded.body",
            (
                response.id,
                response.created_at,
                response.model,
                response.status,
                response.previous_id,
                json.dumps(response.input),
                json.dumps(response.output),
                None if response.usage is None else json.dumps(response.usage),
                json.dumps(response.body),
            ),
        )

    def get(self, response_id: str) -> StoredResponse | None:
        row = self.db.execute("SELECT * FROM responses WHERE id = ?", (response_id,)).fetchone()
        return None if row is None else _stored(row)

    def delete(self, response_id: str) -> bool:
        """Forget a response. One that others continued stays continuable up to it: their
        chains end where it was (see `chain`)."""
        return self.db.execute("DELETE FROM responses WHERE id = ?", (response_id,)).rowcount > 0

    def chain(self, response_id: str) -> list[StoredResponse] | None:
        """The response and every one it continued, the oldest first; None if unknown. A
        link whose response is gone ends the chain there."""
        rows = self.db.execute(
            "WITH RECURSIVE chain(id, depth) AS ("
            " SELECT id, 0 FROM responses WHERE id = ?"
            " UNION ALL"
            " SELECT r.previous_id, c.depth + 1 FROM responses r JOIN chain c ON r.id = c.id"
            " WHERE r.previous_id IS NOT NULL AND c.depth < 10000"
            ") SELECT r.* FROM chain c JOIN responses r ON r.id = c.id ORDER BY c.depth DESC",
            (response_id,),
        ).fetchall()
        return [_stored(row) for row in rows] or None


def _stored(row: Row) -> StoredResponse:
    return StoredResponse(
        id=row["id"],
        created_at=row["created_at"],
        model=row["model"],
        status=row["status"],
        previous_id=row["previous_id"],
        input=json.loads(row["input"]),
        output=json.loads(row["output"]),
        usage=None if row["usage"] is None else json.loads(row["usage"]),
        body=json.loads(row["body"]),
    )

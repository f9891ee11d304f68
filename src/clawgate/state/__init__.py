"""State: the SQLite state DB (sessions, messages, decisions, health, usage, probes, stored
responses, the Telegram channel's), one opener."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clawgate.state._caller import CLIENT_KEY
from clawgate.state._db import MIGRATIONS, Migration, open_db
from clawgate.state._decisions import AttemptRecord, DecisionStore, TurnRecord
from clawgate.state._health import HealthMark, HealthStore
from clawgate.state._probes import ProbeRecord, ProbeStore
from clawgate.state._responses import ResponseStore, StoredResponse
from clawgate.state._sessions import SessionStore, StoredMessage
from clawgate.state._telegram import ChatAccess, Pairing, PendingUpdate, TelegramStore
from clawgate.state._usage import UsageRecord, UsageStore
from clawgate.state._usage_report import (
    GROUPINGS,
    Grouping,
    Price,
    UsageReport,
    UsageRow,
    parse_since,
    prices_from,
    usage_report,
)

__all__ = [
    "CLIENT_KEY",
    "GROUPINGS",
    "MIGRATIONS",
    "AttemptRecord",
    "ChatAccess",
    "DecisionStore",
    "Grouping",
    "HealthMark",
    "HealthStore",
    "Migration",
    "Pairing",
    "PendingUpdate",
    "Price",
    "ProbeRecord",
    "ProbeStore",
    "ResponseStore",
    "SessionStore",
    "State",
    "StoredMessage",
    "StoredResponse",
    "TelegramStore",
    "TurnRecord",
    "UsageRecord",
    "UsageReport",
    "UsageRow",
    "UsageStore",
    "open_db",
    "parse_since",
    "prices_from",
    "usage_report",
]


class State:
    """The stores over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.sessions = SessionStore(conn)
        self.decisions = DecisionStore(conn)
        self.health = HealthStore(conn)
        self.usage = UsageStore(conn)
        self.probes = ProbeStore(conn)
        self.responses = ResponseStore(conn)
        self.telegram = TelegramStore(conn)

    @classmethod
    def open(cls, path: Path | str) -> State:
        return cls(open_db(path))

    def close(self) -> None:
        self.conn.close()

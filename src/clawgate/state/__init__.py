"""State: the state records (sessions, messages, decisions, health, usage, probes, stored
responses, the Telegram channel's) on SQLite (``state.db``) or PostgreSQL, through one seam
(`_seam.Db`), one opener by backend (`open_state`)."""

from __future__ import annotations

from clawgate.postgres import StoreUnavailable
from clawgate.state._caller import CLIENT_KEY
from clawgate.state._check import StoreCheck, check_store, repair_store
from clawgate.state._copy import TABLES, CopyReport, TableCopy, copy_records
from clawgate.state._db import MIGRATIONS, Migration, open_db
from clawgate.state._decisions import AttemptRecord, DecisionStore, TurnRecord
from clawgate.state._health import HealthMark, HealthStore
from clawgate.state._open import existing_state, open_state
from clawgate.state._pg import PG_MIGRATIONS, PostgresDb, open_postgres
from clawgate.state._probes import ProbeRecord, ProbeStore
from clawgate.state._responses import ResponseStore, StoredResponse
from clawgate.state._seam import Db, Dialect, SqliteDb
from clawgate.state._sessions import SessionStore, StoredMessage
from clawgate.state._state import State
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
    "PG_MIGRATIONS",
    "TABLES",
    "AttemptRecord",
    "ChatAccess",
    "CopyReport",
    "Db",
    "DecisionStore",
    "Dialect",
    "Grouping",
    "HealthMark",
    "HealthStore",
    "Migration",
    "Pairing",
    "PendingUpdate",
    "PostgresDb",
    "Price",
    "ProbeRecord",
    "ProbeStore",
    "ResponseStore",
    "SessionStore",
    "SqliteDb",
    "State",
    "StoreCheck",
    "StoreUnavailable",
    "StoredMessage",
    "StoredResponse",
    "TableCopy",
    "TelegramStore",
    "TurnRecord",
    "UsageRecord",
    "UsageReport",
    "UsageRow",
    "UsageStore",
    "check_store",
    "copy_records",
    "existing_state",
    "open_db",
    "open_postgres",
    "open_state",
    "parse_since",
    "prices_from",
    "repair_store",
    "usage_report",
]

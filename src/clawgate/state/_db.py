"""The one opener of ``state.db`` (docs/style.md, "One opener for state.db"): SQLite in WAL
mode, with named, ordered migrations, each applied in its own transaction and recorded in
``migrations``."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from clawgate.fileio import ensure_private_dir, private_umask
from clawgate.state._seam import BUSY_TIMEOUT_MS

__all__ = ["MIGRATIONS", "Migration", "open_db"]


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_sessions",
        """
        CREATE TABLE sessions (
            key TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_key TEXT NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
            turn_id TEXT,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_session ON messages(session_key, id);
        """,
    ),
    Migration(
        "0002_decisions",
        """
        CREATE TABLE turns (
            turn_id TEXT PRIMARY KEY,
            session_key TEXT,
            requested TEXT,
            started_at REAL NOT NULL,
            ended_at REAL,
            outcome TEXT NOT NULL,          -- succeeded | failed
            model TEXT,                     -- provider/model that answered
            profile TEXT,
            fallback INTEGER NOT NULL DEFAULT 0,
            failure TEXT                    -- the class that ended a failed turn
        );
        CREATE INDEX turns_by_start ON turns(started_at);
        CREATE TABLE attempts (
            turn_id TEXT NOT NULL REFERENCES turns(turn_id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            candidate TEXT NOT NULL,
            profile TEXT NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT,
            status INTEGER,
            code TEXT,
            message TEXT,
            first_token_ms REAL,
            end_ms REAL,
            next TEXT,
            PRIMARY KEY (turn_id, seq)
        );
        """,
    ),
    Migration(
        "0003_health",
        """
        CREATE TABLE health (
            key TEXT PRIMARY KEY,           -- kind|profile|model
            kind TEXT NOT NULL,             -- cooldown | block | circuit
            profile TEXT NOT NULL,
            model TEXT,
            generation INTEGER,             -- the profile's material when this was recorded
            until REAL NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            window REAL NOT NULL DEFAULT 0,
            reason TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        """,
    ),
    Migration(
        "0004_usage",
        """
        CREATE TABLE usage (
            turn_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            profile TEXT NOT NULL,
            billing TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            at REAL NOT NULL
        );
        CREATE INDEX usage_by_time ON usage(at);
        """,
    ),
    Migration(
        "0005_probes",
        """
        CREATE TABLE probes (
            profile TEXT NOT NULL,
            at REAL NOT NULL,
            ran_in TEXT NOT NULL,           -- gateway | process
            pid INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            failure TEXT,
            result TEXT NOT NULL            -- the whole probe result, as JSON
        );
        CREATE INDEX probes_by_profile ON probes(profile, at);
        """,
    ),
    Migration(
        "0006_message_bodies",
        # The whole message (parts, tool calls, tool results) as JSON, so a history with tools
        # replays exactly; ``content`` keeps its text for people and queries.
        "ALTER TABLE messages ADD COLUMN body TEXT;",
    ),
    Migration(
        "0007_responses",
        # The Responses API's stored responses (``store: true``): the object as answered, and
        # the conversation it carries on (``previous_response_id``) as message JSON.
        """
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,            -- resp_<turn id>
            created_at REAL NOT NULL,
            model TEXT,                     -- provider/model that answered
            status TEXT NOT NULL,           -- completed | incomplete | failed
            previous_id TEXT,               -- the response this one continued
            input TEXT NOT NULL,            -- this request's own messages, as JSON
            output TEXT NOT NULL,           -- the answer's messages, as JSON
            usage TEXT,                     -- JSON
            body TEXT NOT NULL              -- the response object, as JSON
        );
        """,
    ),
    Migration(
        "0008_telegram",
        # The Telegram channel (`_telegram`): access, pairing codes, the update inbox and
        # offset, each chat's session number and model pin, the dead logins the owner was told.
        """
        CREATE TABLE telegram_access (
            chat_id INTEGER PRIMARY KEY,    -- a user id, or a group's (negative) chat id
            role TEXT NOT NULL,             -- owner | allowed | denied
            name TEXT,
            added_at REAL NOT NULL
        );
        CREATE TABLE telegram_pairing (
            code TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            name TEXT,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            used_at REAL
        );
        CREATE INDEX telegram_pairing_by_user ON telegram_pairing(user_id, created_at);
        CREATE TABLE telegram_updates (
            update_id INTEGER PRIMARY KEY,
            received_at REAL NOT NULL,
            done_at REAL,
            body TEXT NOT NULL              -- the update as JSON, until it is done
        );
        CREATE TABLE telegram_kv (
            key TEXT PRIMARY KEY,           -- offset
            value TEXT NOT NULL
        );
        CREATE TABLE telegram_chats (
            chat_key TEXT PRIMARY KEY,      -- <chat id> or <chat id>:<topic id>
            epoch INTEGER NOT NULL,         -- the session number: /new adds one
            model TEXT                      -- pinned with /model
        );
        CREATE TABLE telegram_told (
            profile TEXT PRIMARY KEY,       -- a profile whose login died
            incident TEXT NOT NULL,         -- which death the owner was told about
            at REAL NOT NULL
        );
        """,
    ),
    Migration(
        "0009_client_keys",
        # The client key (`service._client_keys`) a gateway request came with, by name, on its
        # turn and usage rows; NULL for the gateway's own token and for every other channel.
        """
        ALTER TABLE turns ADD COLUMN client_key TEXT;
        ALTER TABLE usage ADD COLUMN client_key TEXT;
        CREATE INDEX usage_by_key ON usage(client_key, at);
        """,
    ),
    Migration(
        "0010_usage_detail",
        # Of the input, the tokens the provider's prompt cache served; of the output, those
        # spent on reasoning (`providers.Usage`): `clawgate usage` reports and prices them.
        """
        ALTER TABLE usage ADD COLUMN cached_tokens INTEGER;
        ALTER TABLE usage ADD COLUMN reasoning_tokens INTEGER;
        """,
    ),
)


def open_db(path: Path | str, migrations: tuple[Migration, ...] = MIGRATIONS) -> sqlite3.Connection:
    """Open (creating if needed) and bring up to date. ``":memory:"`` for a throwaway one."""
    if str(path) != ":memory:":
        # Conversations are private: the directories 0700 and the file 0600 from the moment
        # they exist (SQLite gives -wal/-shm the file's mode). O_EXCL: an existing file is
        # left as it is, and nothing is ever created through a link at the path.
        ensure_private_dir(Path(path).parent, tighten=False)
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        with private_umask(), contextlib.suppress(FileExistsError):
            os.close(os.open(path, flags, 0o600))
    # Autocommit; transactions are explicit (`BEGIN IMMEDIATE` below and in the stores).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    # First, so that switching to WAL waits for another process's lock instead of failing.
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: no fsync per commit, never corrupt; a power cut may lose the last records.
    # Turn records are not worth a disk flush on every answer (bench/overhead.py).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    for migration in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM migrations WHERE name = ?", (migration.name,)
            ).fetchone()
            if done is None:
                for statement in _statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                    (migration.name, time.time()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn


def _statements(sql: str) -> list[str]:
    # executescript() would COMMIT our transaction first; run statement by statement instead.
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

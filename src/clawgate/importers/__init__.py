"""Importers: credentials and settings copied from other tools, read-only (the source is
never written). OpenClaw (every store it has had: SQLite, JSON, encrypted sidecars) and the
Codex CLI.

A login copied this way is still refreshed by the tool it came from, and refresh tokens
rotate: two tools refreshing one grant log the user out. The report says so
(`SHARED_GRANT_WARNING`).

`follow_logins` is the one mapping of a ChatGPT login filed under ``openai`` to clawgate's
``openai-codex``; ``doctor --fix`` applies it to a config that already holds one.
"""

from clawgate.importers._codex_cli import import_codex_cli
from clawgate.importers._codex_logins import API, CODEX, codex_id, follow_logins, moves_to_codex
from clawgate.importers._openclaw import COOLDOWNS_NOTE, import_openclaw
from clawgate.importers._report import (
    SHARED_GRANT_WARNING,
    ImportFailed,
    ImportReport,
    ProfileLine,
)

__all__ = [
    "API",
    "CODEX",
    "COOLDOWNS_NOTE",
    "SHARED_GRANT_WARNING",
    "ImportFailed",
    "ImportReport",
    "ProfileLine",
    "codex_id",
    "follow_logins",
    "import_codex_cli",
    "import_openclaw",
    "moves_to_codex",
]

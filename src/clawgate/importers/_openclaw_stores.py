"""Where OpenClaw has kept its auth profiles, newest first, and reading them all.

- ``state/openclaw.sqlite`` (2026.9 on): the store shared by all agents, in
  ``config_machine_state`` under ``authProfiles.store`` (order and cooldowns under
  ``authProfiles.state``);
- ``agents/<id>/agent/openclaw-agent.sqlite`` (2026.8 on): each agent's own, tables
  ``auth_profile_store`` and ``auth_profile_state`` (``store_json`` / ``state_json``);
- ``agents/<id>/agent/auth-profiles.json`` (before): the same document as a file, its order
  and cooldowns beside it in ``auth-state.json``.

OpenClaw archives the JSON files it has moved into SQLite; what is still beside the database
is read too (a dir half migrated, or written by an older OpenClaw since). Where one profile
id is in several, the newest store wins. Cooldowns and usage counts are OpenClaw's own health
bookkeeping: they are not imported (clawgate keeps its own), and the report says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawgate.importers._openclaw_entries import Found, Skip, entry_material
from clawgate.importers._read import Unreadable, obj, read_json, read_sqlite_rows
from clawgate.importers._report import ImportFailed, ImportReport, ProfileLine

__all__ = ["Stores", "agent_ids", "read_stores"]

STATE_DB = Path("state") / "openclaw.sqlite"
AGENT_DB = "openclaw-agent.sqlite"
AGENT_JSON = "auth-profiles.json"
AGENT_STATE_JSON = "auth-state.json"  # order and cooldowns, beside the JSON store
_QUERIES = {
    "config_machine_state": "SELECT state_key, value_json FROM config_machine_state "
    "WHERE state_key IN ('authProfiles.store', 'authProfiles.state') ORDER BY state_key",
    "auth_profile_store": "SELECT store_key, store_json FROM auth_profile_store ORDER BY 1",
    "auth_profile_state": "SELECT state_key, state_json FROM auth_profile_state ORDER BY 1",
}


@dataclass
class Stores:
    found: list[Found] = field(default_factory=list)
    order: dict[str, list[str]] = field(default_factory=dict)  # the stores' own auth order
    read: list[str] = field(default_factory=list)  # every store read, for the report
    entries: int = 0  # profiles seen, imported or not


def agent_ids(state_dir: Path) -> list[str]:
    """The agents with a directory of their own, ``main`` first."""
    found = sorted({p.parent.name for p in (state_dir / "agents").glob("*/agent")})
    return sorted(found, key=lambda a: (a != "main", a))


def read_stores(
    state_dir: Path, agent: str | None, seed: str | None, report: ImportReport
) -> Stores:
    agents = agent_ids(state_dir)
    if agent is not None and agent not in agents:
        raise ImportFailed(
            f"OpenClaw has no agent {agent!r} in {state_dir} "
            f"(agents: {', '.join(agents) or 'none'})",
            fix="name one of them with --agent, or leave --agent out to import all",
        )
    stores = Stores()
    seen: dict[str, Found] = {}
    documents = list(_documents(state_dir, [agent] if agent else agents, report, stores))
    # The stores' own order: the shared one, then each agent's (per-agent overrides win for
    # the agent they belong to; the first agent's, when agents differ).
    for _, _, document in reversed(documents):
        for provider, ids in obj(document.get("order")).items():
            if isinstance(ids, list):
                stores.order[provider] = [i for i in ids if isinstance(i, str)]
    for origin, is_store, document in documents:
        if not is_store:
            continue
        # Current stores nest entries under "profiles"; legacy ones are a flat map.
        entries = obj(document.get("profiles")) if "profiles" in document else document
        for profile_id, raw in entries.items():
            if not isinstance(raw, dict):
                continue
            stores.entries += 1
            _one(state_dir, seed, origin, str(profile_id), raw, seen, stores, report)
    return stores


def _one(
    state_dir: Path,
    seed: str | None,
    origin: str,
    profile_id: str,
    raw: dict[str, Any],
    seen: dict[str, Found],
    stores: Stores,
    report: ImportReport,
) -> None:
    kind = raw.get("type", raw.get("mode"))
    line = ProfileLine(profile_id, origin, kind if isinstance(kind, str) else None)
    try:
        provider, material = entry_material(profile_id, raw, state_dir, seed)
    except Skip as exc:
        if profile_id not in seen:
            line.reason = str(exc)
            report.profiles.append(line)
        return
    earlier = seen.get(profile_id)
    if earlier is not None:
        if earlier.material != material:
            line.reason = f"{earlier.origin} holds another credential under this id (used that one)"
            report.profiles.append(line)
        return  # the same credential, kept where OpenClaw keeps it now
    found = Found(profile_id, provider, material, origin)
    seen[profile_id] = found
    stores.found.append(found)


def _documents(
    state_dir: Path, agents: list[str], report: ImportReport, stores: Stores
) -> Iterator[tuple[str, bool, dict[str, Any]]]:
    """(origin, is a profile store, document) in the order stores win: each agent's own
    SQLite, the shared SQLite, each agent's JSON file."""
    for agent in agents:
        yield from _sqlite(state_dir, Path("agents") / agent / "agent" / AGENT_DB, report, stores)
    yield from _sqlite(state_dir, STATE_DB, report, stores)
    for agent in agents:
        folder = Path("agents") / agent / "agent"
        yield from _json(state_dir, folder / AGENT_JSON, report, stores, is_store=True)
        yield from _json(state_dir, folder / AGENT_STATE_JSON, report, stores, is_store=False)


def _sqlite(
    state_dir: Path, relative: Path, report: ImportReport, stores: Stores
) -> Iterator[tuple[str, bool, dict[str, Any]]]:
    path = state_dir / relative
    if not path.is_file():
        return
    try:
        tables = read_sqlite_rows(path, _QUERIES)
    except Unreadable as exc:
        report.skip(str(relative), str(exc))
        return
    rows = [
        (
            f"{relative} ({table} {key})",
            table != "auth_profile_state" and key != "authProfiles.state",
            text,
        )
        for table, found in tables.items()
        for key, text in found
    ]
    if rows:
        stores.read.append(str(relative))
    for origin, is_store, text in rows:
        try:
            document = json.loads(text)
        except (TypeError, ValueError):
            report.skip(origin, "not a JSON document")
            continue
        if isinstance(document, dict):
            yield origin, is_store, document


def _json(
    state_dir: Path, relative: Path, report: ImportReport, stores: Stores, *, is_store: bool
) -> Iterator[tuple[str, bool, dict[str, Any]]]:
    try:
        document = read_json(state_dir / relative)
    except FileNotFoundError:
        return
    except Unreadable as exc:
        report.skip(str(state_dir / relative), str(exc))
        stores.read.append(str(relative))
        return
    stores.read.append(str(relative))
    if not isinstance(document, dict):
        report.skip(str(relative), "not an auth-profiles store")
        return
    yield str(relative), is_store, document

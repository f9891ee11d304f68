"""The part of ``openclaw.json`` clawgate copies: one agent's model chain, the aliases, the
profile order. The result is shaped like clawgate.json, so the same edits apply to both.

OpenClaw agents may each name their own chain (``agents.list[].model``); clawgate has one.
The chain copied is the agent asked for (``--agent``), else OpenClaw's default agent (the
one marked ``default``, else ``main``); an agent whose chain differs is reported with the
command that imports it instead, never merged into the other's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawgate.config import migrate
from clawgate.importers._read import Unreadable, obj, read_json
from clawgate.importers._report import ImportReport

__all__ = ["chain_document"]


def _selection(value: object) -> dict[str, Any] | None:
    if isinstance(value, str):
        return {"primary": value}
    if isinstance(value, dict):
        picked = {k: value[k] for k in ("primary", "fallbacks") if k in value}
        return picked or None
    return None


def chain_document(source: Path, agent: str | None, report: ImportReport) -> dict[str, Any] | None:
    """``{"agents": {"defaults": {"model", "models"}}, "auth": {"order"}}`` from OpenClaw's
    config; None when there is none (or it cannot be read: then the report says why)."""
    try:
        data = read_json(source)
    except FileNotFoundError:
        return None
    except Unreadable as exc:
        report.skip(source.name, str(exc))
        return None
    if not isinstance(data, dict):
        report.skip(source.name, "not an object")
        return None
    # What `doctor --fix` would migrate (codex/* and agentRuntime refs to openai-codex),
    # done to the copy read here: the chain arrives in clawgate's shape.
    moved = [c for c in migrate(data) if c.startswith(("model ", "auth.order"))]
    report.notes.extend(f"{source.name}: {change}" for change in moved)
    agents = obj(data.get("agents"))
    defaults = obj(agents.get("defaults"))
    listed = [
        a for a in agents.get("list") or [] if isinstance(a, dict) and isinstance(a.get("id"), str)
    ]
    default_id = next((a["id"] for a in listed if a.get("default") is True), "main")
    chosen = agent or default_id
    chains = {a["id"]: _selection(a.get("model")) for a in listed}
    model = chains.get(chosen) or _selection(defaults.get("model"))
    for other, selection in chains.items():
        if other != chosen and selection is not None and selection != model:
            report.kept.append(
                (
                    f"OpenClaw agent {other}'s own chain (primary {selection.get('primary')})",
                    f"clawgate import openclaw --agent {other}",
                )
            )
    document: dict[str, Any] = {"agents": {"defaults": {}}, "auth": {}}
    if model is not None:
        document["agents"]["defaults"]["model"] = model
    aliases = {
        ref: {"alias": options["alias"]}
        for ref, options in obj(defaults.get("models")).items()
        if isinstance(options, dict) and isinstance(options.get("alias"), str)
    }
    if aliases:
        document["agents"]["defaults"]["models"] = aliases
    order = {
        provider: [i for i in ids if isinstance(i, str)]
        for provider, ids in obj(obj(data.get("auth")).get("order")).items()
        if isinstance(ids, list)
    }
    if order:
        document["auth"]["order"] = order
    return document

"""`clawgate import openclaw`: every credential OpenClaw holds and its model chain, copied
into clawgate read-only (the source is never written), with ChatGPT logins moved to
``openai-codex`` (`clawgate.importers._codex_logins`) and a report of each profile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clawgate.importers._codex_logins import API, codex_id, follow_logins, moves_to_codex
from clawgate.importers._merge import merge_change
from clawgate.importers._openclaw_config import chain_document
from clawgate.importers._openclaw_entries import openclaw_seed
from clawgate.importers._openclaw_stores import STATE_DB, Stores, agent_ids, read_stores
from clawgate.importers._report import ImportFailed, ImportReport, ProfileLine
from clawgate.importers._store import ALREADY, Candidate, store
from clawgate.vault import Vault

__all__ = ["COOLDOWNS_NOTE", "import_openclaw"]

COOLDOWNS_NOTE = (
    "OpenClaw's cooldowns and usage counts were not imported (clawgate keeps its own health "
    "from the turns it routes)"
)
CONFIG = "openclaw.json"


def import_openclaw(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    state_dir: Path,
    *,
    agent: str | None = None,
) -> ImportReport:
    report = ImportReport(state_dir)
    has_config = (state_dir / CONFIG).exists()
    if not (has_config or agent_ids(state_dir) or (state_dir / STATE_DB).exists()):
        raise ImportFailed(
            f"no OpenClaw state found in {state_dir}",
            fix="point at it: clawgate import openclaw --state-dir <dir>",
        )
    stores = read_stores(state_dir, agent, openclaw_seed(env, state_dir), report)
    if stores.read:  # whether or not any are set now: none is carried over
        report.notes.append(COOLDOWNS_NOTE)
    candidates, moved = _candidates(stores)
    chain = chain_document(state_dir / CONFIG, agent, report) or {"agents": {}, "auth": {}}
    # The stores' own order overrides the config's, provider by provider, as in OpenClaw.
    chain["auth"].setdefault("order", {}).update(stores.order)
    keeps_key = any(provider == API and pid not in moved for _, pid, provider, _ in candidates)
    for change in follow_logins(chain, moved, keeps_key):
        report.notes.append(change)
    known = {pid for _, pid, _, _ in candidates} | set(vault.profile_ids())
    also = merge_change(chain, known, report) if _has_settings(chain) else None
    store(vault, config_file, env, candidates, report, also=also)
    _refuse_empty(report, stores, has_config, state_dir)
    return report


def _candidates(stores: Stores) -> tuple[list[Candidate], dict[str, str]]:
    candidates: list[Candidate] = []
    moved: dict[str, str] = {}
    for found in stores.found:
        line = ProfileLine(found.profile_id, found.origin, found.material.kind.value)
        profile_id, provider = found.profile_id, found.provider
        if moves_to_codex(found.provider, found.material.kind.value):
            profile_id, provider = codex_id(found.profile_id), "openai-codex"
            moved[found.profile_id] = profile_id
            line.reason = (
                "a ChatGPT login filed under openai: clawgate's provider for it is openai-codex"
            )
        candidates.append((line, profile_id, provider, found.material))
    return candidates, moved


def _has_settings(chain: dict[str, Any]) -> bool:
    defaults = chain.get("agents", {}).get("defaults", {})
    return bool(defaults.get("model") or defaults.get("models") or chain["auth"].get("order"))


def _refuse_empty(report: ImportReport, stores: Stores, has_config: bool, state_dir: Path) -> None:
    """Nothing imported, nothing already here, nothing configured, from a dir that holds
    something: an error that names what was there, never a quiet success."""
    already = any(p.reason and ALREADY in p.reason for p in report.profiles)
    if report.imported or report.config or already:
        return
    where = [*stores.read, *([CONFIG] if has_config else [])]
    if not (stores.entries or report.problems or where):
        return
    reasons = "; ".join(f"{what}: {why}" for what, why in report.skipped) or "no profiles in them"
    raise ImportFailed(
        f"nothing could be imported from {state_dir}: read {', '.join(where) or 'nothing'} "
        f"({stores.entries} profile(s)); {reasons}",
        fix="see each reason above; for a secret reference, add the key yourself: "
        'echo "$KEY" | clawgate models auth add --provider <provider> --api-key-stdin',
    )

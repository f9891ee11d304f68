"""Storing what an importer found: the vault first, then one config edit with the metadata
and the settings copied, so ``clawgate.json.bak`` keeps the text from before the import."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from clawgate.auth import store_profiles
from clawgate.importers._report import ImportReport, ProfileLine
from clawgate.vault import Material, Vault

__all__ = ["ALREADY", "Candidate", "store"]

ALREADY = "already in clawgate's vault (kept as is)"
# (the report's line for it, clawgate profile id, clawgate provider, material)
Candidate = tuple[ProfileLine, str, str, Material]


def store(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    candidates: Sequence[Candidate],
    report: ImportReport,
    also: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    existing = set(vault.profile_ids())
    batch: dict[str, Candidate] = {}
    for candidate in candidates:
        line, profile_id, _, _ = candidate
        if profile_id in existing:
            line.reason = ALREADY if profile_id == line.profile else f"{profile_id} is {ALREADY}"
        elif profile_id in batch:
            line.reason = f"{batch[profile_id][0].origin} gives {profile_id} too (used that one)"
        else:
            batch[profile_id] = candidate
        report.profiles.append(line)
    entries = [(pid, provider, material) for _, pid, provider, material in batch.values()]
    store_profiles(vault, config_file, env, entries, also=also)
    for line, profile_id, provider, _ in batch.values():
        line.became, line.provider = profile_id, provider

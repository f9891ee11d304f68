from __future__ import annotations

from pathlib import Path

from clawgate.clock import ManualClock
from clawgate.vault import KeyResolver, Vault


def open_vault(state_dir: Path, env: dict[str, str] | None = None) -> Vault:
    vault_dir = state_dir / "vault"
    return Vault(vault_dir, KeyResolver(vault_dir, env or {}), clock=ManualClock(), lock_timeout=5)

from __future__ import annotations

from pathlib import Path

from clawgate.clock import ManualClock
from clawgate.vault import KeyResolver, Vault


def open_vault(state_dir: Path, env: dict[str, str] | None = None) -> Vault:
    vault_dir = state_dir / "vault"
    return Vault(vault_dir, KeyResolver(vault_dir, env or {}), clock=ManualClock(), lock_timeout=5)


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Everything under ``root`` (``root`` included): each path's mode and its bytes (a
    link's target), to show that a refused call changed nothing."""
    found: dict[str, tuple[int, bytes]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        if path.is_symlink():
            content = str(path.readlink()).encode()
        elif path.is_file():
            content = path.read_bytes()
        else:
            content = b""
        found[str(path.relative_to(root))] = (st.st_mode, content)
    return found

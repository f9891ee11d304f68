from __future__ import annotations

from pathlib import Path

from clawgate.clock import ManualClock
from clawgate.vault import KeyResolver, Vault
from tests.vault_backends import make_vault


def open_vault(state_dir: Path, env: dict[str, str] | None = None) -> Vault:
    """A vault of ``state_dir`` on the test's backend (`tests.vault_backends`)."""
    vault_dir = state_dir / "vault"
    keys = KeyResolver(vault_dir, env or {})
    return make_vault(vault_dir, keys, clock=ManualClock(), lock_timeout=5)


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

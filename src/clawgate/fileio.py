"""Crash-safe file writes for the vault and the config: readers see old or new, never a mix."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def ensure_private_dir(path: Path, *, tighten: bool = True) -> None:
    """Create ``path`` and any missing parents 0700 (mkdir's ``parents`` would use the umask).
    ``tighten`` also sets an existing ``path`` to 0700: right for clawgate's own directories,
    wrong for a directory the user chose for the config."""
    missing = []
    here = path
    while not here.exists():
        missing.append(here)
        here = here.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    if tighten:
        os.chmod(path, 0o700)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file 0600 in the same directory → fsync → rename → fsync the directory."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(directory: Path) -> int:
    """Delete temp files left by writers that died before their rename."""
    removed = 0
    for temp in directory.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
            removed += 1
    return removed

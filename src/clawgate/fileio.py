"""Crash-safe file writes for the vault and the config: readers see old or new, never a mix."""

from __future__ import annotations

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


def _write_temp(path: Path, data: bytes) -> Path:
    """A complete, fsynced 0600 copy of ``data`` beside ``path``, under a unique temp name."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file 0600 in the same directory → fsync → rename → fsync the directory."""
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; False if it already did.

    The complete temp file is link(2)ed into place: link fails when ``path`` exists, so
    racing creators cannot clobber each other, and nobody ever sees a half-written file.
    """
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: Path) -> None:
    """Delete temp files of ``path`` left by writers that died before their rename.

    Only safe while holding whatever lock serialises writers of ``path``.
    """
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        temp.unlink(missing_ok=True)

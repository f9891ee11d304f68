"""The vault's storage seam: where envelopes, the ledger and clawgate's own secrets are kept,
and the lock that makes a profile's read → change → write one step (docs/auth.md, "Where the
vault keeps its bytes"). `_store.Vault` does the cryptography and the rules; a `Storage`
moves opaque bytes and holds locks. Two implement it: `FileStorage` (the state directory, the
default) and `_postgres.PostgresStorage` (one database shared by several gateways).

::

    vault/
      key                   0600, when the data key is file-held (never in any Storage)
      profiles/<id>.json    the encrypted envelope
      meta/ledger.json      the signed ledger (`_ledger`)
      locks/<stem>.lock     flock(2) files
      secrets/<name>.json   clawgate's own secrets, not profiles (`_secrets`)

Files are replaced atomically; locks are ``flock`` locks, which the kernel drops when their
owner dies. Before anything is written the directories pass `_strict` (StrictModes); no
envelope, ledger or lock is opened through a symbolic link.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote

import filelock

from clawgate.fileio import (
    ensure_private_dir,
    read_nofollow,
    remove_stale_temps,
    write_atomic,
)
from clawgate.vault._errors import LockTimeout
from clawgate.vault._key import DataKey
from clawgate.vault._ledger import Entry, Ledger
from clawgate.vault._strict import check_dirs, check_lock_path, take

__all__ = ["Change", "FileStorage", "Lock", "Storage", "file_name"]

Change = Callable[[Entry], Entry]


class Lock(Protocol):
    """One named lock, not yet taken: ``acquire`` waits at most the lock's timeout, then
    raises ``busy()``; a dead holder's lock is free at once on both backends."""

    def acquire(self, busy: Callable[[], Exception]) -> None: ...
    def release(self) -> None: ...


class Storage(Protocol):
    """Opaque bytes by profile id and secret name, the ledger's entries, and locks."""

    name: str  # "files" | "postgres"

    def where(self, profile_id: str) -> str: ...
    def read(self, profile_id: str) -> bytes | None: ...
    def exists(self, profile_id: str) -> bool: ...
    def profile_ids(self) -> list[str]: ...
    def holds_envelopes(self) -> bool: ...
    def write(self, profile_id: str, envelope: bytes, change: Change) -> None: ...
    def remove(self, profile_id: str, change: Change) -> bool: ...
    def entry(self, profile_id: str) -> Entry: ...
    def record(self, profile_id: str, change: Change) -> None: ...
    def secret_where(self, name: str) -> str: ...
    def read_secret(self, name: str) -> bytes | None: ...
    def secret_names(self) -> list[str]: ...
    def write_secret(self, name: str, envelope: bytes) -> None: ...
    def secret_stamp(self, name: str) -> tuple[int, int, int] | None: ...
    def lock(self, stem: str, timeout: float) -> Lock: ...
    def close(self) -> None: ...


def file_name(profile_id: str) -> str:
    """A (checked) profile id as a file name stem; ``:`` and ``@`` kept readable."""
    return quote(profile_id, safe="@:+")


class _FileLock:
    def __init__(self, lock: filelock.BaseFileLock) -> None:
        self._lock = lock

    def acquire(self, busy: Callable[[], Exception]) -> None:
        take(self._lock, busy)

    def release(self) -> None:
        self._lock.release()


class FileStorage:
    """The vault in the state directory (the layout above)."""

    name = "files"

    def __init__(self, vault_dir: Path, key: Callable[[], DataKey], lock_timeout: float) -> None:
        self.dir = vault_dir
        self.lock_timeout = lock_timeout
        self._ledger = Ledger(vault_dir / "meta", key, self._ledger_lock)

    # Paths (the file backend's own; callers outside the vault use `Vault`'s methods) ------

    def envelope_path(self, profile_id: str) -> Path:
        return self.dir / "profiles" / f"{file_name(profile_id)}.json"

    def secret_path(self, name: str) -> Path:
        return self.dir / "secrets" / f"{name}.json"

    def where(self, profile_id: str) -> str:
        return str(self.envelope_path(profile_id))

    def secret_where(self, name: str) -> str:
        return str(self.secret_path(name))

    # Envelopes --------------------------------------------------------------------------

    def read(self, profile_id: str) -> bytes | None:
        """The envelope's bytes, None when there is none; `fileio.UnsafeFile` for a link."""
        try:
            raw, _ = read_nofollow(self.envelope_path(profile_id))
        except FileNotFoundError:
            return None
        return raw

    def exists(self, profile_id: str) -> bool:
        return os.path.lexists(self.envelope_path(profile_id))

    def profile_ids(self) -> list[str]:
        folder = self.dir / "profiles"
        if not folder.is_dir():
            return []
        return sorted(unquote(p.name[: -len(".json")]) for p in folder.glob("[!.]*.json"))

    def holds_envelopes(self) -> bool:
        folders = (self.dir / "profiles", self.dir / "secrets")
        return any(any(folder.glob("[!.]*.json")) for folder in folders if folder.is_dir())

    def write(self, profile_id: str, envelope: bytes, change: Change) -> None:
        """The envelope (fsynced, replaced atomically), then its ledger entry: after a crash
        the ledger may lag behind the envelope but never runs ahead of it."""
        path = self.envelope_path(profile_id)
        ensure_private_dir(path.parent)
        remove_stale_temps(path)  # the profile's lock is held: no live writer owns them
        write_atomic(path, envelope)  # replaces a link planted there; never writes through it
        self._ledger.record(profile_id, change)

    def remove(self, profile_id: str, change: Change) -> bool:
        try:
            self.envelope_path(profile_id).unlink()
        except FileNotFoundError:
            return False
        self._ledger.record(profile_id, change)
        return True

    # The ledger -------------------------------------------------------------------------

    def entry(self, profile_id: str) -> Entry:
        return self._ledger.entry(profile_id)

    def record(self, profile_id: str, change: Change) -> None:
        self._ledger.record(profile_id, change)

    def _ledger_lock(self) -> _Held:
        """The ledger's lock: taken inside a profile's, never the other way round."""
        return _Held(
            self.lock("ledger", self.lock_timeout),
            lambda: LockTimeout(
                "the vault's ledger is locked by another clawgate process",
                fix="wait for the other process to finish, then retry",
            ),
        )

    # clawgate's own secrets -------------------------------------------------------------

    def read_secret(self, name: str) -> bytes | None:
        try:
            raw, _ = read_nofollow(self.secret_path(name))
        except FileNotFoundError:
            return None
        return raw

    def secret_names(self) -> list[str]:
        folder = self.dir / "secrets"
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".json")] for p in folder.glob("[!.]*.json"))

    def write_secret(self, name: str, envelope: bytes) -> None:
        path = self.secret_path(name)
        ensure_private_dir(path.parent)
        remove_stale_temps(path)  # the secret's lock is held: no live writer owns them
        write_atomic(path, envelope)

    def secret_stamp(self, name: str) -> tuple[int, int, int] | None:
        """(inode, size, mtime in ns): what changes when the file is replaced."""
        try:
            st = os.stat(self.secret_path(name))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    # Locks ------------------------------------------------------------------------------

    def lock_file(self, stem: str, timeout: float) -> filelock.BaseFileLock:
        """``locks/<stem>.lock``, not yet taken: every write takes one first, so the vault's
        directories pass StrictModes here before anything is written (`_strict`)."""
        check_dirs(self.dir)
        locks = self.dir / "locks"
        ensure_private_dir(locks)
        path = locks / f"{stem}.lock"
        check_lock_path(path)
        return filelock.FileLock(
            path,
            timeout=timeout,
            mode=0o600,
            # Acquired in one thread and released in another by `alock`.
            thread_local=False,
        )

    def lock(self, stem: str, timeout: float) -> Lock:
        return _FileLock(self.lock_file(stem, timeout))

    def close(self) -> None:
        """Nothing is held open between calls."""


class _Held:
    """A `Lock` as a context manager, for the ledger."""

    def __init__(self, lock: Lock, busy: Callable[[], Exception]) -> None:
        self._lock = lock
        self._busy = busy

    def __enter__(self) -> None:
        self._lock.acquire(self._busy)

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

"""The vault on disk: one envelope per profile, replaced atomically under the profile's
cross-process lock, and the ledger of every profile's high water and status.

::

    vault/
      key                   0600, when the data key is file-held
      profiles/<id>.json    the encrypted envelope
      meta/ledger.json      {"profiles": {<id>: {"highWater": n, "status": {...}}}, "mac"}
      locks/<id>.lock       flock(2) files
      secrets/<name>.json   clawgate's own secrets, not profiles (`_secrets`)

``highWater`` is the newest generation ever written for the profile, kept in the
authenticated ledger (`_ledger`) and written after the envelope, so after a crash it can lag
behind but never run ahead; an envelope older than it is a rollback. Locks are ``flock``
locks: the kernel drops them when their owner dies, so a lock whose owner is gone is taken
over at once. Before anything is read or written, the directories pass `_strict`
(StrictModes); no envelope, ledger or lock is opened through a symbolic link.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio.to_thread
import filelock

from clawgate import names
from clawgate.catalog import repair
from clawgate.clock import Clock, SystemClock
from clawgate.fileio import (
    UnsafeFile,
    ensure_private_dir,
    read_nofollow,
    remove_stale_temps,
    write_atomic,
)
from clawgate.secret import Secret
from clawgate.vault._envelope import open_envelope, peek_generation, seal
from clawgate.vault._errors import (
    BadProfileId,
    KeyUnavailable,
    LockTimeout,
    Tampered,
    Unresolved,
    UnsafePath,
)
from clawgate.vault._key import DataKey, KeyResolver, system_keyring
from clawgate.vault._ledger import Entry, Ledger, LedgerBroken
from clawgate.vault._material import (
    Kind,
    Material,
    MaterialError,
    ProfileStatus,
    dump_material,
    load_material,
)
from clawgate.vault._secrets import LEGACY, SecretStore
from clawgate.vault._strict import check_dirs, check_lock_path, take

PROVIDER_ID = names.PROVIDER_ID
_LEGACY_IDS = frozenset(LEGACY.values())


def check_profile_id(profile_id: str) -> str:
    """`names.check_profile_id` as a vault error; the ids older versions kept clawgate's own
    secrets under stay readable, so `_secrets` can move them."""
    try:
        return names.check_profile_id(profile_id, reserved_ok=profile_id in _LEGACY_IDS)
    except names.BadName as exc:
        raise BadProfileId(exc.message) from None


def _reported(profile_id: str, exc: LedgerBroken) -> Unresolved:
    """A ledger that cannot be trusted, as the profile at hand sees it."""
    broken = Tampered if exc.tampered else Unresolved
    return broken(profile_id, exc.reason, fix=exc.fix)


@dataclass(frozen=True)
class StoredProfile:
    profile_id: str
    provider: str
    generation: int
    material: Material
    status: ProfileStatus

    @property
    def kind(self) -> Kind:
        return self.material.kind


class Vault:
    def __init__(
        self,
        vault_dir: Path,
        keys: KeyResolver,
        *,
        clock: Clock | None = None,
        lock_timeout: float = 10.0,
    ) -> None:
        self.dir = vault_dir
        self.keys = keys
        self.clock = clock or SystemClock()
        self.lock_timeout = lock_timeout
        self._secrets = SecretStore(self)
        self._ledger = Ledger(self.dir / "meta", self.key, self._ledger_lock)

    @classmethod
    def open(cls, state_dir: Path, env: Mapping[str, str], **options: Any) -> Vault:
        vault_dir = state_dir / "vault"
        return cls(vault_dir, KeyResolver(vault_dir, env, system_keyring()), **options)

    # Paths --------------------------------------------------------------------------------

    def _name(self, profile_id: str) -> str:
        return quote(check_profile_id(profile_id), safe="@:+") + ".json"

    def envelope_path(self, profile_id: str) -> Path:
        return self.dir / "profiles" / self._name(profile_id)

    def profile_ids(self) -> list[str]:
        """Every stored profile; not an old-layout copy of one of clawgate's own secrets."""
        folder = self.dir / "profiles"
        if not folder.is_dir():
            return []
        ids = (unquote(p.name[: -len(".json")]) for p in folder.glob("[!.]*.json"))
        return sorted(i for i in ids if i not in _LEGACY_IDS)

    def secret_path(self, name: str) -> Path:
        return self._secrets.path(name)

    def _holds_envelopes(self) -> bool:
        folders = (self.dir / "profiles", self.dir / "secrets")
        return any(any(folder.glob("[!.]*.json")) for folder in folders if folder.is_dir())

    # Reading ------------------------------------------------------------------------------

    def key(self, *, create: bool = False) -> DataKey:
        """The data key. A new one is made only for an empty vault: a fresh key beside
        existing envelopes would hide that the real key is missing."""
        try:
            return self.keys.resolve(create=False)
        except UnsafePath:
            raise
        except KeyUnavailable:
            if not create or self._holds_envelopes():
                raise
        return self.keys.resolve(create=True)

    def load(self, profile_id: str) -> StoredProfile:
        """Decrypt a profile; `Unresolved` (or `Tampered`) when it cannot be used as is."""
        path = self.envelope_path(profile_id)
        try:
            raw, _ = read_nofollow(path)
        except FileNotFoundError:
            login = repair(profile_id.split(":")[0])
            raise Unresolved(profile_id, "no credentials stored", fix=f"log in: {login}") from None
        except UnsafeFile as exc:
            login = repair(profile_id.split(":")[0])
            raise Tampered(
                profile_id,
                f"its envelope {path} is {exc.what}, which clawgate does not follow",
                fix=f"rm {shlex.quote(str(path))}, then log in again: {login}",
            ) from None
        key = self.key()
        try:
            entry = self._entry(profile_id)
        except Tampered:
            raise
        except Unresolved:  # a ledger of another key: an envelope of another key says it better
            open_envelope(key, raw, profile_id, 0)
            raise
        opened = open_envelope(key, raw, profile_id, entry.high_water)
        try:
            material = load_material(opened.plaintext)
        except MaterialError as exc:
            raise Unresolved(profile_id, str(exc), fix="log in again for this profile") from None
        return StoredProfile(profile_id, opened.provider, opened.generation, material, entry.status)

    def generation(self, profile_id: str) -> int | None:
        """The stored generation, read without decrypting: cheap staleness checks. None when
        there is none, or a link (not followed: `load` says so)."""
        try:
            raw, _ = read_nofollow(self.envelope_path(profile_id))
        except (FileNotFoundError, UnsafeFile):
            return None
        return peek_generation(raw)

    def status(self, profile_id: str) -> ProfileStatus:
        return self._entry(profile_id).status

    def _entry(self, profile_id: str) -> Entry:
        """The profile's ledger entry; a ledger that cannot be trusted is reported for it."""
        try:
            return self._ledger.entry(profile_id)
        except LedgerBroken as exc:
            raise _reported(profile_id, exc) from None

    def _record(self, profile_id: str, change: Callable[[Entry], Entry]) -> None:
        try:
            self._ledger.record(profile_id, change)
        except LedgerBroken as exc:
            raise _reported(profile_id, exc) from None

    # Writing ------------------------------------------------------------------------------

    def lock_file(self, stem: str, timeout: float | None = None) -> filelock.BaseFileLock:
        """``locks/<stem>.lock``, not yet taken: every write takes one first, so the vault's
        directories pass StrictModes here before anything is written (`_strict`)."""
        check_dirs(self.dir)
        locks = self.dir / "locks"
        ensure_private_dir(locks)
        path = locks / f"{stem}.lock"
        check_lock_path(path)
        return filelock.FileLock(
            path,
            timeout=self.lock_timeout if timeout is None else timeout,
            mode=0o600,
            # Acquired in one thread and released in another by `alock`.
            thread_local=False,
        )

    def _lock_timeout(self, profile_id: str) -> LockTimeout:
        return LockTimeout(
            f"profile {profile_id} is locked by another clawgate process",
            fix="wait for the other process (a login or refresh) to finish, then retry",
        )

    def _file_lock(self, profile_id: str, timeout: float | None) -> filelock.BaseFileLock:
        return self.lock_file(self._name(profile_id)[: -len(".json")], timeout)

    @contextlib.contextmanager
    def lock(self, profile_id: str, timeout: float | None = None) -> Iterator[Held]:
        """The profile's cross-process lock, with a bounded wait."""
        lock = self._file_lock(profile_id, timeout)
        take(lock, lambda: self._lock_timeout(profile_id))
        try:
            yield Held(self, profile_id)
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def alock(self, profile_id: str, wait: float | None = None) -> AsyncIterator[Held]:
        """`lock` for the event loop: the wait (at most ``wait`` s) happens in a worker thread."""
        lock = self._file_lock(profile_id, wait)
        await anyio.to_thread.run_sync(take, lock, lambda: self._lock_timeout(profile_id))
        try:
            yield Held(self, profile_id)
        finally:
            lock.release()

    def save(self, profile_id: str, provider: str, material: Material) -> StoredProfile:
        """Store new material (generation + 1) and clear the profile's status. Whatever was
        stored before is not read, so a login can replace an unreadable envelope."""
        self.key(create=True)
        with self.lock(profile_id) as held:
            return held.save(provider, material)

    def update(
        self,
        profile_id: str,
        provider: str,
        change: Callable[[StoredProfile | None], Material],
    ) -> StoredProfile:
        """Read-modify-write under the lock: ``change`` sees the newest stored profile."""
        self.key(create=True)
        with self.lock(profile_id) as held:
            return held.save(provider, change(held.current()))

    def mark(self, profile_id: str, status: ProfileStatus) -> None:
        """Record a profile's status (e.g. ``needs_login``) without touching its material."""
        with self.lock(profile_id) as held:
            held.mark(status)

    @contextlib.contextmanager
    def _ledger_lock(self) -> Iterator[None]:
        """The ledger's lock: taken inside a profile's, never the other way round."""
        lock = self.lock_file("ledger")
        take(
            lock,
            lambda: LockTimeout(
                "the vault's ledger is locked by another clawgate process",
                fix="wait for the other process to finish, then retry",
            ),
        )
        try:
            yield
        finally:
            lock.release()

    def delete(self, profile_id: str) -> bool:
        """Remove a profile's material. Its high-water mark stays, so an old copy of the
        envelope put back later is still recognised as a rollback."""
        with self.lock(profile_id) as held:
            return held.delete()

    # clawgate's own secrets (`_secrets`) --------------------------------------------------

    def secret(self, name: str) -> Secret | None:
        """One of clawgate's own secrets, or None when none is stored; `SecretUnreadable`
        when it cannot be read."""
        return self._secrets.get(name)

    def save_secret(self, name: str, value: Secret) -> None:
        """Store one of clawgate's own secrets, replacing what was there."""
        self._secrets.save(name, value)

    def ensure_secret(self, name: str, make: Callable[[], Secret]) -> Secret:
        """The stored secret, else ``make()``'s, stored: racing processes get one value."""
        return self._secrets.ensure(name, make)


class Held:
    """One profile while its lock is held: reads and writes that must not take it again."""

    def __init__(self, vault: Vault, profile_id: str) -> None:
        self.vault = vault
        self.profile_id = profile_id

    def current(self) -> StoredProfile | None:
        """The newest stored profile, None when there is none; `Unresolved` if unreadable."""
        if not os.path.lexists(self.vault.envelope_path(self.profile_id)):
            return None
        return self.vault.load(self.profile_id)

    def save(
        self, provider: str, material: Material, status: ProfileStatus | None = None
    ) -> StoredProfile:
        """Write with generation + 1, fsynced, and reset the status (to ``status``, else
        clear): new material, so whatever was wrong with the old one no longer applies."""
        vault, profile_id = self.vault, self.profile_id
        key = vault.key(create=True)
        high_water = vault._entry(profile_id).high_water
        generation = max(high_water, vault.generation(profile_id) or 0) + 1
        envelope = seal(key, profile_id, provider, generation, dump_material(material))
        path = vault.envelope_path(profile_id)
        ensure_private_dir(path.parent)
        remove_stale_temps(path)  # we hold the profile's lock: no live writer owns them
        write_atomic(path, envelope)  # replaces a link planted there; never writes through it
        new = status or ProfileStatus()
        vault._record(profile_id, lambda old: Entry(max(old.high_water, generation), new))
        return StoredProfile(profile_id, provider, generation, material, new)

    def mark(self, status: ProfileStatus) -> None:
        self.vault._record(self.profile_id, lambda old: Entry(old.high_water, status))

    def delete(self) -> bool:
        try:
            self.vault.envelope_path(self.profile_id).unlink()
        except FileNotFoundError:
            return False
        self.vault._record(self.profile_id, lambda old: Entry(old.high_water, ProfileStatus()))
        return True

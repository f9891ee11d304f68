"""The vault: one envelope per profile, replaced under the profile's cross-process lock, and
the ledger of every profile's high water and status, kept by a `_storage.Storage` (the state
directory's files, or PostgreSQL: `_postgres`). Here are the rules; there, the bytes.

``highWater`` is the newest generation ever written for the profile, kept in the
authenticated ledger (`_ledger`) and written with (on files: after) the envelope, so after a
crash it can lag behind but never run ahead; an envelope older than it is a rollback. A lock
whose owner died is free at once: the kernel drops a dead process's ``flock`` locks, and
PostgreSQL its session's advisory locks.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from clawgate import names
from clawgate.catalog import repair
from clawgate.clock import Clock, SystemClock
from clawgate.fileio import UnsafeFile
from clawgate.postgres import DATABASE_URL_ENV
from clawgate.secret import Secret
from clawgate.vault._envelope import open_envelope, peek_generation, seal
from clawgate.vault._errors import (
    BadProfileId,
    KeyUnavailable,
    LockTimeout,
    Tampered,
    Unresolved,
    UnsafePath,
    VaultError,
)
from clawgate.vault._key import DataKey, KeyResolver, system_keyring
from clawgate.vault._ledger import Entry, LedgerBroken
from clawgate.vault._material import (
    Kind,
    Material,
    MaterialError,
    ProfileStatus,
    dump_material,
    load_material,
)
from clawgate.vault._secrets import LEGACY, SecretStore
from clawgate.vault._storage import FileStorage, Lock, Storage, file_name

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
        storage: Callable[[Vault], Storage] | None = None,
    ) -> None:
        """``vault_dir`` holds the key file (when the key is file-held) and, unless
        ``storage`` makes another, the envelopes."""
        self.dir = vault_dir
        self.keys = keys
        self.clock = clock or SystemClock()
        self.lock_timeout = lock_timeout
        self.storage: Storage = (
            FileStorage(vault_dir, self.key, lock_timeout) if storage is None else storage(self)
        )
        self._secrets = SecretStore(self)

    @classmethod
    def open(
        cls, state_dir: Path, env: Mapping[str, str], *, backend: str = "sqlite", **options: Any
    ) -> Vault:
        """The vault of the state directory, its envelopes where ``state.backend`` says:
        files beside state.db, or the PostgreSQL database of ``CLAWGATE_DATABASE_URL``. The
        key is found as always (env, keyring, file): never in the database."""
        vault_dir = state_dir / "vault"
        keys = KeyResolver(vault_dir, env, system_keyring())
        if backend == "postgres":
            from clawgate.vault._postgres import PostgresStorage

            # Connects at first use: a command that never touches the vault needs no database.
            url = env.get(DATABASE_URL_ENV, "").strip()
            return cls(vault_dir, keys, storage=lambda v: PostgresStorage(url, v.key), **options)
        return cls(vault_dir, keys, **options)

    def close(self) -> None:
        """Let go of the storage's connection (PostgreSQL); nothing on files."""
        self.storage.close()

    # Where things are ---------------------------------------------------------------------

    def _name(self, profile_id: str) -> str:
        return file_name(check_profile_id(profile_id)) + ".json"

    def _files(self) -> FileStorage:
        if not isinstance(self.storage, FileStorage):
            raise TypeError(f"the vault keeps its envelopes in {self.storage.name}, not files")
        return self.storage

    def envelope_path(self, profile_id: str) -> Path:
        """The envelope's file (the file backend only: tests, `doctor`'s backups)."""
        return self._files().envelope_path(check_profile_id(profile_id))

    def secret_path(self, name: str) -> Path:
        """A secret's file (the file backend only)."""
        return self._files().secret_path(names.check_secret_name(name))

    def sealed(self, profile_id: str) -> tuple[str, bytes] | None:
        """The profile's envelope as stored (still sealed to its name) and the file name it
        has or would have on disk: a backup that can be put back as is. None when none."""
        name = self._name(profile_id)
        raw = self.storage.read(profile_id)
        return None if raw is None else (name, raw)

    def exists(self, profile_id: str) -> bool:
        """Whether anything is stored for the profile, readable or not."""
        return self.storage.exists(check_profile_id(profile_id))

    def profile_ids(self) -> list[str]:
        """Every stored profile; not an old-layout copy of one of clawgate's own secrets."""
        return [i for i in self.storage.profile_ids() if i not in _LEGACY_IDS]

    def _holds_envelopes(self) -> bool:
        return self.storage.holds_envelopes()

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
        check_profile_id(profile_id)
        # The ledger entry before the envelope: a writer puts the envelope down first (files)
        # or both in one transaction (PostgreSQL), so an envelope read after the entry is of
        # its generation or newer. Read the other way round, another process's refresh
        # landing between the two reads looked like a rollback. The entry's own problem is
        # said after the envelope's, which say more.
        try:
            entry: Entry | VaultError = self._entry(profile_id)
        except VaultError as exc:
            entry = exc
        try:
            raw = self.storage.read(profile_id)
        except UnsafeFile as exc:
            login = repair(profile_id.split(":")[0])
            raise Tampered(
                profile_id,
                f"its envelope {exc.path} is {exc.what}, which clawgate does not follow",
                fix=f"rm {shlex.quote(str(exc.path))}, then log in again: {login}",
            ) from None
        if raw is None:
            login = repair(profile_id.split(":")[0])
            raise Unresolved(profile_id, "no credentials stored", fix=f"log in: {login}")
        key = self.key()
        if isinstance(entry, Unresolved) and not isinstance(entry, Tampered):
            open_envelope(key, raw, profile_id, 0)  # a ledger of another key: an envelope of
            raise entry  # another key says it better
        if isinstance(entry, VaultError):
            raise entry
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
            raw = self.storage.read(check_profile_id(profile_id))
        except UnsafeFile:
            return None
        return None if raw is None else peek_generation(raw)

    def status(self, profile_id: str) -> ProfileStatus:
        return self._entry(profile_id).status

    def _entry(self, profile_id: str) -> Entry:
        """The profile's ledger entry; a ledger that cannot be trusted is reported for it."""
        try:
            return self.storage.entry(profile_id)
        except LedgerBroken as exc:
            raise _reported(profile_id, exc) from None

    def _record(self, profile_id: str, change: Callable[[Entry], Entry]) -> None:
        try:
            self.storage.record(profile_id, change)
        except LedgerBroken as exc:
            raise _reported(profile_id, exc) from None

    @contextlib.contextmanager
    def _reporting(self, profile_id: str) -> Iterator[None]:
        """A write's ledger step, its broken ledger reported for the profile at hand."""
        try:
            yield
        except LedgerBroken as exc:
            raise _reported(profile_id, exc) from None

    # Writing ------------------------------------------------------------------------------

    def _lock_timeout(self, profile_id: str) -> LockTimeout:
        return LockTimeout(
            f"profile {profile_id} is locked by another clawgate process",
            fix="wait for the other process (a login or refresh) to finish, then retry",
        )

    def _profile_lock(self, profile_id: str, timeout: float | None) -> Lock:
        stem = self._name(profile_id)[: -len(".json")]
        return self.storage.lock(stem, self.lock_timeout if timeout is None else timeout)

    @contextlib.contextmanager
    def named_lock(
        self, stem: str, busy: Callable[[], Exception], timeout: float | None = None
    ) -> Iterator[None]:
        """A lock of clawgate's own beside the profiles' (a secret's, the client keys'), held
        across processes (and replicas, on PostgreSQL); ``busy()`` when the wait runs out."""
        lock = self.storage.lock(stem, self.lock_timeout if timeout is None else timeout)
        lock.acquire(busy)
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def lock(self, profile_id: str, timeout: float | None = None) -> Iterator[Held]:
        """The profile's cross-process lock, with a bounded wait."""
        lock = self._profile_lock(profile_id, timeout)
        lock.acquire(lambda: self._lock_timeout(profile_id))
        try:
            yield Held(self, profile_id)
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def alock(self, profile_id: str, wait: float | None = None) -> AsyncIterator[Held]:
        """`lock` for the event loop: the wait (at most ``wait`` s) happens in a worker thread."""
        lock = self._profile_lock(profile_id, wait)
        await anyio.to_thread.run_sync(lock.acquire, lambda: self._lock_timeout(profile_id))
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

    def secret_stamp(self, name: str) -> tuple[int, int, int] | None:
        """What changes whenever the secret is written (a cheap check before reading it
        again), None when there is none. On files: inode, size and mtime in ns."""
        return self.storage.secret_stamp(names.check_secret_name(name))

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
        if not self.vault.storage.exists(self.profile_id):
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
        new = status or ProfileStatus()
        with vault._reporting(profile_id):
            vault.storage.write(
                profile_id, envelope, lambda old: Entry(max(old.high_water, generation), new)
            )
        return StoredProfile(profile_id, provider, generation, material, new)

    def mark(self, status: ProfileStatus) -> None:
        self.vault._record(self.profile_id, lambda old: Entry(old.high_water, status))

    def delete(self) -> bool:
        with self.vault._reporting(self.profile_id):
            return self.vault.storage.remove(
                self.profile_id, lambda old: Entry(old.high_water, ProfileStatus())
            )

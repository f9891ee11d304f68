"""The vault on disk: one envelope and one metadata file per profile, each replaced atomically
under the profile's cross-process lock.

::

    vault/
      key                   0600, when the data key is file-held
      profiles/<id>.json    the encrypted envelope
      meta/<id>.json        {"highWater": n, "status": {...}}: not secret, but durable
      locks/<id>.lock       flock(2) files
      secrets/<name>.json   clawgate's own secrets, not profiles (`_secrets`)

``highWater`` is the newest generation ever written for the profile. It is written after the
envelope, so after a crash it can lag behind but never run ahead; an envelope older than it
is a rollback. Locks are ``flock`` locks: the kernel drops them when their owner dies, so a
lock whose owner is gone is taken over at once.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio.to_thread
import filelock

from clawgate.catalog import repair
from clawgate.clock import Clock, SystemClock
from clawgate.fileio import ensure_private_dir, remove_stale_temps, write_atomic
from clawgate.secret import Secret
from clawgate.vault._envelope import open_envelope, peek_generation, seal
from clawgate.vault._errors import BadProfileId, KeyUnavailable, LockTimeout, Unresolved
from clawgate.vault._key import DataKey, KeyResolver, system_keyring
from clawgate.vault._material import (
    Kind,
    Material,
    MaterialError,
    ProfileStatus,
    dump_material,
    load_material,
)
from clawgate.vault._secrets import LEGACY, SecretStore

PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LEGACY_IDS = frozenset(LEGACY.values())
_PROFILE_ID = re.compile(PROVIDER_ID.pattern + r":[^\x00-\x1f/\\]{1,200}")


def check_profile_id(profile_id: str) -> str:
    if not _PROFILE_ID.fullmatch(profile_id):
        raise BadProfileId(
            f"{profile_id!r} is not a profile id",
            fix="profile ids look like <provider>:<name>, e.g. openai:default",
        )
    return profile_id


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

    @classmethod
    def open(cls, state_dir: Path, env: Mapping[str, str], **options: Any) -> Vault:
        vault_dir = state_dir / "vault"
        return cls(vault_dir, KeyResolver(vault_dir, env, system_keyring()), **options)

    # Paths --------------------------------------------------------------------------------

    def _name(self, profile_id: str) -> str:
        return quote(check_profile_id(profile_id), safe="@:+") + ".json"

    def envelope_path(self, profile_id: str) -> Path:
        return self.dir / "profiles" / self._name(profile_id)

    def _meta_path(self, profile_id: str) -> Path:
        return self.dir / "meta" / self._name(profile_id)

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
        except KeyUnavailable:
            if not create or self._holds_envelopes():
                raise
        return self.keys.resolve(create=True)

    def load(self, profile_id: str) -> StoredProfile:
        """Decrypt a profile; `Unresolved` (or `Tampered`) when it cannot be used as is."""
        path = self.envelope_path(profile_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise Unresolved(
                profile_id,
                "no credentials stored",
                fix=f"log in: {repair(profile_id.split(':')[0])}",
            ) from None
        high_water, status = self._read_meta(profile_id)
        opened = open_envelope(self.key(), raw, profile_id, high_water)
        try:
            material = load_material(opened.plaintext)
        except MaterialError as exc:
            raise Unresolved(profile_id, str(exc), fix="log in again for this profile") from None
        return StoredProfile(profile_id, opened.provider, opened.generation, material, status)

    def generation(self, profile_id: str) -> int | None:
        """The stored generation, read without decrypting: cheap staleness checks."""
        try:
            return peek_generation(self.envelope_path(profile_id).read_bytes())
        except FileNotFoundError:
            return None

    def status(self, profile_id: str) -> ProfileStatus:
        return self._read_meta(profile_id)[1]

    def _read_meta(self, profile_id: str) -> tuple[int, ProfileStatus]:
        try:
            fields = json.loads(self._meta_path(profile_id).read_bytes())
        except (FileNotFoundError, ValueError):
            return 0, ProfileStatus()
        if not isinstance(fields, dict):
            return 0, ProfileStatus()
        high_water = fields.get("highWater")
        return (
            high_water if isinstance(high_water, int) else 0,
            ProfileStatus.from_json(fields.get("status")),
        )

    # Writing ------------------------------------------------------------------------------

    def lock_file(self, stem: str, timeout: float | None = None) -> filelock.BaseFileLock:
        """``locks/<stem>.lock``, not yet taken."""
        locks = self.dir / "locks"
        ensure_private_dir(locks)
        return filelock.FileLock(
            locks / f"{stem}.lock",
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
        try:
            lock.acquire()
        except filelock.Timeout:
            raise self._lock_timeout(profile_id) from None
        try:
            yield Held(self, profile_id)
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def alock(self, profile_id: str, wait: float | None = None) -> AsyncIterator[Held]:
        """`lock` for the event loop: the wait (at most ``wait`` s) happens in a worker thread."""
        lock = self._file_lock(profile_id, wait)
        try:
            await anyio.to_thread.run_sync(lock.acquire)
        except filelock.Timeout:
            raise self._lock_timeout(profile_id) from None
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

    def _write_meta(self, profile_id: str, high_water: int, status: ProfileStatus) -> None:
        path = self._meta_path(profile_id)
        ensure_private_dir(path.parent)
        meta = {"v": 1, "highWater": high_water, "status": status.to_json()}
        write_atomic(path, json.dumps(meta, separators=(",", ":")).encode())

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
        if not self.vault.envelope_path(self.profile_id).exists():
            return None
        return self.vault.load(self.profile_id)

    def save(
        self, provider: str, material: Material, status: ProfileStatus | None = None
    ) -> StoredProfile:
        """Write with generation + 1, fsynced, and reset the status (to ``status``, else
        clear): new material, so whatever was wrong with the old one no longer applies."""
        vault, profile_id = self.vault, self.profile_id
        key = vault.key(create=True)
        high_water, _ = vault._read_meta(profile_id)
        generation = max(high_water, vault.generation(profile_id) or 0) + 1
        envelope = seal(key, profile_id, provider, generation, dump_material(material))
        path = vault.envelope_path(profile_id)
        ensure_private_dir(path.parent)
        remove_stale_temps(path)  # we hold the profile's lock: no live writer owns them
        write_atomic(path, envelope)
        status = status or ProfileStatus()
        vault._write_meta(profile_id, generation, status)
        return StoredProfile(profile_id, provider, generation, material, status)

    def mark(self, status: ProfileStatus) -> None:
        high_water, _ = self.vault._read_meta(self.profile_id)
        self.vault._write_meta(self.profile_id, high_water, status)

    def delete(self) -> bool:
        try:
            self.vault.envelope_path(self.profile_id).unlink()
        except FileNotFoundError:
            return False
        high_water, _ = self.vault._read_meta(self.profile_id)
        self.vault._write_meta(self.profile_id, high_water, ProfileStatus())
        return True

"""clawgate's own secrets, kept apart from model credentials: the gateway's bearer token, and
whatever else clawgate itself must hold. None is a profile, so none is ever listed, routed
or probed as one.

::

    vault/
      secrets/<name>.json       one AES-256-GCM envelope, sealed to its name (`_envelope`)
      locks/secret.<name>.lock  flock(2) file: writers of that secret take turns

(or the same envelope in PostgreSQL's ``vault_secrets``, under an advisory lock: `_postgres`).
Each is replaced atomically (on files 0600, in a 0700 directory) under its lock. Older
versions kept the gateway's token as the API-key profile ``clawgate:gateway`` (`LEGACY`):
the first read moves its value here and deletes the profile, so a client holding the token
keeps working.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable
from typing import Protocol

from clawgate.fileio import UnsafeFile
from clawgate.names import check_secret_name
from clawgate.secret import Secret
from clawgate.vault._envelope import open_secret, seal_secret
from clawgate.vault._errors import LockTimeout, SecretUnreadable, Unresolved
from clawgate.vault._key import DataKey
from clawgate.vault._material import ApiKeyMaterial, Material, MaterialError

__all__ = ["LEGACY", "SecretStore"]

# Secret name → the profile id older versions kept it under.
LEGACY: dict[str, str] = {"gateway": "clawgate:gateway"}
_check = check_secret_name  # a ValueError (and a ClawgateError) when the name is not one


class _Stored(Protocol):
    @property
    def material(self) -> Material: ...


class Vault(Protocol):
    """What the secrets take from the vault they live in (`_store.Vault`)."""

    @property
    def storage(self) -> _Storage: ...

    def key(self, *, create: bool = False) -> DataKey: ...
    def load(self, profile_id: str) -> _Stored: ...
    def delete(self, profile_id: str) -> bool: ...
    def exists(self, profile_id: str) -> bool: ...
    def named_lock(
        self, stem: str, busy: Callable[[], Exception], timeout: float | None = None
    ) -> contextlib.AbstractContextManager[None]: ...


class _Storage(Protocol):
    def secret_where(self, name: str) -> str: ...
    def read_secret(self, name: str) -> bytes | None: ...
    def write_secret(self, name: str, envelope: bytes) -> None: ...


class SecretStore:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def get(self, name: str) -> Secret | None:
        """The secret, or None when none is stored; `SecretUnreadable` when it cannot be
        read (edited, or sealed under another vault key)."""
        legacy = LEGACY.get(name)
        if legacy is not None and self.vault.exists(legacy):
            with self._lock(name):
                return self._migrate(name, legacy)
        return self._read(name)

    def save(self, name: str, value: Secret) -> None:
        """Store ``value``, replacing whatever was there (readable or not)."""
        self.vault.key(create=True)  # a vault that refuses its key gets no lock file either
        with self._lock(name):
            self._write(name, value)
            self._forget(name)

    def ensure(self, name: str, make: Callable[[], Secret]) -> Secret:
        """The stored secret, else ``make()``'s, stored: racing processes get one value."""
        value = self.get(name)
        if value is not None:
            return value
        self.vault.key(create=True)
        with self._lock(name):
            value = self._read(name)
            if value is None:
                value = make()
                self._write(name, value)
        return value

    # Under the lock -----------------------------------------------------------------------

    def _read(self, name: str) -> Secret | None:
        try:
            raw = self.vault.storage.read_secret(_check(name))
        except UnsafeFile as exc:
            raise SecretUnreadable(
                name,
                f"its file {exc.path} is {exc.what}, which clawgate does not follow",
                fix=f"rm {shlex.quote(str(exc.path))}; a new one is made",
            ) from None
        if raw is None:
            return None
        plaintext = open_secret(self.vault.key(), raw, name)
        try:
            return Secret(plaintext.decode())
        except UnicodeDecodeError:
            raise SecretUnreadable(name, "the decrypted value is not text") from None

    def _write(self, name: str, value: Secret) -> None:
        if not value.reveal().strip():
            raise MaterialError(f"the {name} secret is empty")
        key = self.vault.key(create=True)
        self.vault.storage.write_secret(
            _check(name), seal_secret(key, name, value.reveal().encode())
        )

    def _migrate(self, name: str, legacy: str) -> Secret | None:
        """Move the legacy profile's value here, unless this place already holds one; then
        delete the profile. Written before deleting: a crash in between loses nothing."""
        value = self._read(name)
        if value is None:
            try:
                material = self.vault.load(legacy).material
            except Unresolved as exc:
                if not self.vault.exists(legacy):
                    return None  # moved or deleted by another process meanwhile
                raise SecretUnreadable(
                    name, f"its old copy, profile {legacy}, is unreadable: {exc.reason}"
                ) from None
            if not isinstance(material, ApiKeyMaterial):
                raise SecretUnreadable(name, f"its old copy, profile {legacy}, holds no key")
            value = material.key
            self._write(name, value)
        self._forget(name)
        return value

    def _forget(self, name: str) -> None:
        legacy = LEGACY.get(name)
        if legacy is not None and self.vault.exists(legacy):
            self.vault.delete(legacy)

    def _lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self.vault.named_lock(
            f"secret.{_check(name)}",
            lambda: LockTimeout(
                f"clawgate's {name} secret is locked by another clawgate process",
                fix="wait for the other process to finish, then retry",
            ),
        )

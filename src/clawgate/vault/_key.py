"""The vault's data key: 32 random bytes, from the first source that works (docs/auth.md, "Vault").

1. ``CLAWGATE_VAULT_KEY`` (base64) in the environment;
2. the OS keyring, through the optional ``keyring`` package (only the key, never tokens; a
   call that raises or takes longer than 3 s counts as unavailable: headless Linux without a
   keyring backend is normal);
3. ``vault/key`` (0600) in the state dir, created on first write; read only as the file
   itself (never through a link), and only when no one else can read it (`_strict`).

The keyring entry is named after the state dir, not HOME, so a service unit and a shell with
different environments find the same key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clawgate.fileio import UnsafeFile, create_exclusive, ensure_private_dir, read_nofollow
from clawgate.vault._errors import KeyUnavailable
from clawgate.vault._strict import check_dirs, check_key_file, link_refused

KEY_ENV = "CLAWGATE_VAULT_KEY"
KEYRING_SERVICE = "clawgate-vault"
KEYRING_TIMEOUT = 3.0
_T = TypeVar("_T")


class KeySource(StrEnum):
    ENV = "env"
    KEYRING = "keyring"
    FILE = "file"


@dataclass(frozen=True)
class DataKey:
    key: bytes = field(repr=False)
    source: KeySource

    @property
    def key_id(self) -> str:
        """A public fingerprint, stored in envelopes to tell "wrong key" from "tampered"."""
        return hmac.new(self.key, b"clawgate vault key id", hashlib.sha256).hexdigest()[:16]

    @functools.cached_property
    def ledger_key(self) -> bytes:
        """The MAC key of the ledger (`_ledger`): HKDF-SHA256 (RFC 5869) from the data key, so
        the key that seals envelopes is never used for a second purpose. Derived once."""
        hkdf = HKDF(hashes.SHA256(), length=32, salt=None, info=b"clawgate vault ledger v1")
        return hkdf.derive(self.key)


class Keyring(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...


def system_keyring() -> Keyring | None:
    try:
        import keyring  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return keyring  # type: ignore[no-any-return,unused-ignore]


def _bounded(call: Callable[[], _T], timeout: float) -> _T | None:
    """Run a keyring call in a daemon thread; None if it raises or does not answer in time."""
    result: list[_T] = []

    def run() -> None:
        with contextlib.suppress(Exception):
            result.append(call())

    worker = threading.Thread(target=run, daemon=True, name="clawgate-keyring")
    worker.start()
    worker.join(timeout)
    return result[0] if result else None


class KeyResolver:
    def __init__(
        self,
        vault_dir: Path,
        env: Mapping[str, str],
        keyring: Keyring | None = None,
        keyring_timeout: float = KEYRING_TIMEOUT,
    ) -> None:
        self.vault_dir = vault_dir
        self.key_file = vault_dir / "key"
        self._env = env
        self._keyring = keyring
        self._timeout = keyring_timeout
        self._username = f"vault:{os.path.realpath(vault_dir)}"
        self._cached: DataKey | None = None

    def resolve(self, *, create: bool) -> DataKey:
        """The data key; with ``create``, make one when no source has it yet."""
        if self._cached is not None:
            return self._cached
        # StrictModes first: no key is read, made or used where others can change the vault.
        check_dirs(self.vault_dir)
        key = self._from_env() or self._from_keyring() or self._from_file()
        if key is None and create:
            key = self._create()
        if key is None:
            raise KeyUnavailable(
                f"no vault key: not in CLAWGATE_VAULT_KEY, the OS keyring, or {self.key_file}",
                fix=f"restore {self.key_file} from a backup, or set CLAWGATE_VAULT_KEY to "
                "the base64 key the vault was written with",
            )
        self._cached = key
        return key

    def _from_env(self) -> DataKey | None:
        raw = self._env.get(KEY_ENV)
        if raw is None:
            return None
        return DataKey(_decode(raw, KEY_ENV), KeySource.ENV)

    def _from_keyring(self) -> DataKey | None:
        ring = self._keyring
        if ring is None:
            return None
        raw = _bounded(lambda: ring.get_password(KEYRING_SERVICE, self._username), self._timeout)
        return DataKey(_decode(raw, "the OS keyring entry"), KeySource.KEYRING) if raw else None

    def _from_file(self) -> DataKey | None:
        try:
            raw, st = read_nofollow(self.key_file)
        except FileNotFoundError:
            return None
        except UnsafeFile as exc:
            raise link_refused(
                "the vault key file",
                exc,
                fix=f"remove it and put the key file itself there (mode 600): {self.key_file}",
            ) from None
        except OSError as exc:
            raise KeyUnavailable(
                f"cannot read the vault key file {self.key_file}: {exc.strerror}",
                fix=f"check the file's owner and permissions (0600): {self.key_file}",
            ) from None
        check_key_file(self.key_file, st)
        text = raw.decode("ascii", errors="replace")  # not ASCII: not a key, `_decode` says
        return DataKey(_decode(text, str(self.key_file)), KeySource.FILE)

    def _create(self) -> DataKey:
        material = secrets.token_bytes(32)
        encoded = base64.b64encode(material).decode("ascii")
        ring = self._keyring
        if ring is not None:

            def store() -> str | None:
                ring.set_password(KEYRING_SERVICE, self._username, encoded)
                return ring.get_password(KEYRING_SERVICE, self._username)

            # Only a keyring that gives the key back is trusted with it.
            if _bounded(store, self._timeout) == encoded:
                return DataKey(material, KeySource.KEYRING)
        ensure_private_dir(self.vault_dir)
        # When two processes create the key at once, one key wins and both use it.
        if not create_exclusive(self.key_file, (encoded + "\n").encode("ascii")):
            existing = self._from_file()  # the other creator's, or `UnsafePath` for a link
            if existing is None:
                raise KeyUnavailable(
                    f"the vault key file {self.key_file} was removed while it was being made",
                    fix="retry",
                )
            return existing
        return DataKey(material, KeySource.FILE)


def _decode(raw: str, where: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise KeyUnavailable(
            f"{where} does not hold a vault key (base64 of 32 bytes)",
            fix="use the key the vault was written with; a new key cannot read old profiles",
        )
    return key

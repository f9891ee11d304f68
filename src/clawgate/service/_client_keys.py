"""Client keys (README, "Client keys"): API keys for the gateway's callers besides its own
token, each named, optionally limited to some models and chains, a request rate and a number
of tokens a day, and optionally expiring.

A key is shown once, when made. What is kept is its HMAC-SHA256 under a secret of its own
(RFC 2104), never the key. Both live in the vault as two of clawgate's own secrets
(`vault._secrets`), sealed with the vault's key: ``client-keys`` (the records, as JSON) and
``client-keys-hmac``. So a copied ``state.db`` or config holds nothing about them, and a
copied records file without the vault's key holds nothing readable either; keeping them in
the vault also needs no schema migration, and its file's change tells a running gateway to
re-read them (`gateway._keys`). A presented key is compared with every record's hash in
constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from clawgate.clock import Clock, SystemClock
from clawgate.errors import ClawgateError
from clawgate.secret import Secret
from clawgate.vault import Vault

__all__ = [
    "KEY_PREFIX",
    "ClientKey",
    "ClientKeyError",
    "ClientKeyStore",
    "check_key_name",
]

KEY_PREFIX = "cgk-"
RECORDS = "client-keys"  # the vault secret holding the records
HMAC_SECRET = "client-keys-hmac"  # noqa: S105 (the secret's name in the vault)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LOCK_TIMEOUT = 10.0  # seconds another clawgate editing the keys may hold them


class ClientKeyError(ClawgateError):
    code = "client_key"
    exit_code = 2


def check_key_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ClientKeyError(
            f"{name[:80]!r} is not a client key name",
            fix="use 1-64 lower-case letters, digits and . _ -, starting with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class ClientKey:
    name: str
    digest: str  # hex HMAC-SHA256 of the key under the ``client-keys-hmac`` secret
    created_at: float
    models: tuple[str, ...] = ()  # refs and chains it may use; () for all
    rpm: int | None = None  # requests a minute
    tokens_per_day: int | None = None  # input + output tokens a UTC day
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def view(self) -> dict[str, Any]:
        """What may be shown: everything but the hash."""
        return {
            "name": self.name,
            "createdAt": self.created_at,
            "models": list(self.models),
            "rpm": self.rpm,
            "tokensPerDay": self.tokens_per_day,
            "expiresAt": self.expires_at,
        }

    def __repr__(self) -> str:  # the hash is no secret, but it has no business in logs
        return f"ClientKey(name={self.name!r})"


class ClientKeyStore:
    def __init__(self, vault: Vault, clock: Clock | None = None) -> None:
        self.vault = vault
        self.clock = clock or SystemClock()
        self._hmac: Secret | None = None

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes when the records change (`Vault.secret_stamp`); None when none."""
        return self.vault.secret_stamp(RECORDS)

    def all(self) -> list[ClientKey]:
        stored = self.vault.secret(RECORDS)
        if stored is None:
            return []
        document = json.loads(stored.reveal())
        return [_from_json(entry) for entry in document["keys"]]

    def get(self, name: str) -> ClientKey | None:
        return next((k for k in self.all() if k.name == name), None)

    def create(
        self,
        name: str,
        *,
        models: Sequence[str] = (),
        rpm: int | None = None,
        tokens_per_day: int | None = None,
        expires_in: float | None = None,
    ) -> tuple[ClientKey, Secret]:
        """A new key: its record, and the key itself (shown once, kept nowhere)."""
        check_key_name(name)
        with self._editing() as keys:
            if any(k.name == name for k in keys):
                raise ClientKeyError(
                    f"a client key named {name!r} exists",
                    fix=f"choose another name, or: clawgate gateway keys rotate {name}",
                )
            value = _new()
            now = self.clock.now()
            record = ClientKey(
                name=name,
                digest=self.digest(value),
                created_at=now,
                models=tuple(models),
                rpm=rpm,
                tokens_per_day=tokens_per_day,
                expires_at=None if expires_in is None else now + expires_in,
            )
            keys.append(record)
        return record, value

    def revoke(self, name: str) -> None:
        with self._editing() as keys:
            kept = [k for k in keys if k.name != name]
            if len(kept) == len(keys):
                raise _unknown(name)
            keys[:] = kept

    def rotate(self, name: str) -> Secret:
        """A new key for ``name``, its limits kept; the old key stops working."""
        with self._editing() as keys:
            for index, key in enumerate(keys):
                if key.name == name:
                    value = _new()
                    keys[index] = replace(key, digest=self.digest(value))
                    return value
        raise _unknown(name)

    def find(self, presented: str, keys: Sequence[ClientKey] | None = None) -> ClientKey | None:
        """The record ``presented`` is the key of, compared with every one in constant time."""
        records = self.all() if keys is None else keys
        if not presented.startswith(KEY_PREFIX) or not records:
            return None
        digest = self.digest(Secret(presented)).encode()
        found = None
        for key in records:
            if hmac.compare_digest(digest, key.digest.encode()):
                found = key  # no early exit: every record is compared
        return found

    def digest(self, value: Secret) -> str:
        if self._hmac is None:  # made once, never changed: read once
            self._hmac = self.vault.ensure_secret(
                HMAC_SECRET, lambda: Secret(secrets.token_hex(32))
            )
        mac = hmac.new(self._hmac.reveal().encode(), value.reveal().encode(), hashlib.sha256)
        return mac.hexdigest()

    @contextlib.contextmanager
    def _editing(self) -> Iterator[list[ClientKey]]:
        """The records, read under a lock and written back when the block ends without error:
        two CLIs editing at once take turns, and neither loses the other's change."""
        self.vault.key(create=True)
        busy = ClientKeyError(
            "the client keys are being edited by another clawgate process",
            fix="wait for it to finish, then retry",
        )
        # The vault's lock: a file lock, or on PostgreSQL one across replicas.
        with self.vault.named_lock("client-keys.edit", lambda: busy, timeout=_LOCK_TIMEOUT):
            keys = self.all()
            yield keys
            document = {"version": 1, "keys": [_to_json(k) for k in keys]}
            self.vault.save_secret(RECORDS, Secret(json.dumps(document)))


def _new() -> Secret:
    return Secret(KEY_PREFIX + secrets.token_urlsafe(32))


def _unknown(name: str) -> ClientKeyError:
    return ClientKeyError(
        f"no client key named {name[:80]!r}", fix="see them with: clawgate gateway keys list"
    )


def _to_json(key: ClientKey) -> dict[str, Any]:
    document = asdict(key)
    document["models"] = list(key.models)
    return document


def _from_json(document: dict[str, Any]) -> ClientKey:
    return ClientKey(**{**document, "models": tuple(document.get("models", ()))})

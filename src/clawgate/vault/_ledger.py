"""The ledger: every profile's high-water generation and status in one authenticated file,
``vault/meta/ledger.json`` (docs/security.md, "Rollback").

::

    {"v":1,"kid":"<key id>","profiles":{"<id>":{"highWater":n,"status":{…}}},"mac":"<hex>"}

``mac`` is HMAC-SHA256 (RFC 2104) over the canonical JSON (sorted keys, no spaces) of the
other three fields, under `DataKey.ledger_key` (HKDF from the data key): whoever cannot
decrypt the vault cannot write a ledger it accepts, nor lower a generation or clear a status.

Why one file for every profile rather than one beside each envelope: a rollback puts older
copies of a profile's files back, and a high-water mark kept in a file of the profile's own
comes back with them, older too, agreeing with the older envelope, authenticated or not. The
ledger is no file of any one profile, so it remembers. What it cannot tell from a restore is
the ledger itself put back, or removed, together with the envelopes: the vault's own memory
gone back in time (docs/security.md says what is and is not detected).

Older versions kept an unauthenticated ``meta/<id>.json`` per profile. While there is no
ledger they are read, accepted once and moved into a new ledger, then deleted; after that
they are ignored.

The ledger is written after the envelope, under ``locks/ledger.lock`` (taken inside a
profile's lock, never the other way round), so after a crash it may lag behind an envelope
but never runs ahead of one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shlex
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from clawgate.fileio import (
    UnsafeFile,
    ensure_private_dir,
    read_nofollow,
    remove_stale_temps,
    write_atomic,
)
from clawgate.vault._errors import VaultError
from clawgate.vault._key import DataKey
from clawgate.vault._material import ProfileStatus

__all__ = ["LEDGER", "Entry", "Ledger", "LedgerBroken", "sign", "verify"]

LEDGER = "ledger.json"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    high_water: int = 0
    status: ProfileStatus = field(default_factory=ProfileStatus)

    def to_json(self) -> dict[str, Any]:
        return {"highWater": self.high_water, "status": self.status.to_json()}

    @classmethod
    def from_json(cls, fields: object) -> Entry:
        if not isinstance(fields, dict):
            return cls()
        high_water = fields.get("highWater")
        return cls(
            high_water if isinstance(high_water, int) else 0,
            ProfileStatus.from_json(fields.get("status")),
        )


class LedgerBroken(Exception):
    """The ledger cannot be trusted as it is; the store reports it for the profile at hand,
    as tampered or (``tampered=False``: another key, a newer version) unresolved."""

    def __init__(self, reason: str, fix: str, *, tampered: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.tampered = tampered


def _mac(key: DataKey, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key.ledger_key, canonical, hashlib.sha256).hexdigest()


def _stamp(st: os.stat_result) -> tuple[int, ...]:
    """What changes whenever the file is replaced or written (ctime cannot be set back)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def verify(raw: bytes, key: DataKey, where: str, discard: str) -> dict[str, Entry]:
    """The entries of a ledger document read from ``where`` (a path, a table row), checked
    against ``key``; `LedgerBroken` when it cannot be trusted, whose fix names ``discard``
    (the command that removes it)."""
    restore = (
        f"restore {where} from a backup, or remove it to accept every envelope as it is "
        f"now: {discard}"
    )
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    shape = {"v": int, "kid": str, "mac": str}
    if not isinstance(document, dict) or any(
        not isinstance(document.get(name), kind) for name, kind in shape.items()
    ):
        raise LedgerBroken(
            f"the vault's ledger {where} is not a ledger (truncated or edited)", restore
        )
    if document["v"] != VERSION:
        raise LedgerBroken(
            f"the vault's ledger {where} is version {document['v']}, newer than this clawgate",
            "upgrade clawgate",
            tampered=False,
        )
    if document.get("kid") != key.key_id:
        raise LedgerBroken(
            f"the vault's ledger {where} was written with another vault key (key id "
            f"{document['kid'][:16]!r}; the key in use from {key.source} is {key.key_id})",
            f"use the vault key it was written with, or remove it: {discard}",
            tampered=False,
        )
    body = {name: document.get(name) for name in ("v", "kid", "profiles")}
    # As bytes: compare_digest refuses a str that is not ASCII, and this one is the file's.
    if not hmac.compare_digest(document["mac"].encode(), _mac(key, body).encode()):
        raise LedgerBroken(
            f"the vault's ledger {where} does not authenticate (edited, or from another vault)",
            restore,
        )
    profiles = body["profiles"]
    if not isinstance(profiles, dict):
        raise LedgerBroken(f"the vault's ledger {where} holds no profiles", restore)
    return {str(profile_id): Entry.from_json(fields) for profile_id, fields in profiles.items()}


def sign(entries: dict[str, Entry], key: DataKey) -> bytes:
    """The ledger document of ``entries``, authenticated under ``key``."""
    profiles = {profile_id: entry.to_json() for profile_id, entry in sorted(entries.items())}
    body: dict[str, Any] = {"v": VERSION, "kid": key.key_id, "profiles": profiles}
    document = {**body, "mac": _mac(key, body)}
    return json.dumps(document, separators=(",", ":")).encode()


def _discard(path: Path) -> str:
    return f"rm {shlex.quote(str(path))}"


class Ledger:
    def __init__(
        self,
        meta_dir: Path,
        key: Callable[[], DataKey],
        lock: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self.dir = meta_dir
        self.path = meta_dir / LEDGER
        self._key = key
        self._lock = lock
        # The last ledger read, by its stamp: most reads (status, every turn) cost one lstat.
        self._cached: tuple[tuple[int, ...], dict[str, Entry]] | None = None

    def entry(self, profile_id: str) -> Entry:
        """The profile's high water and status; `LedgerBroken` when the ledger is."""
        current = self._current()
        entries = current if current is not None else self._upgrade()
        return entries.get(profile_id, Entry())

    def record(self, profile_id: str, change: Callable[[Entry], Entry]) -> None:
        """Replace the profile's entry with ``change(entry)``, under the ledger's lock."""
        with self._lock():
            current = self._current()
            entries = dict(self._legacy() if current is None else current)
            entries[profile_id] = change(entries.get(profile_id, Entry()))
            self._write(entries)
            if current is None:
                self._drop_legacy()

    # Reading ------------------------------------------------------------------------------

    def _current(self) -> dict[str, Entry] | None:
        """The ledger's authenticated entries; None when there is no ledger yet."""
        try:
            stamp = _stamp(os.lstat(self.path))
        except FileNotFoundError:
            return None
        cached = self._cached
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            raw, st = read_nofollow(self.path)
        except FileNotFoundError:
            return None
        except UnsafeFile as exc:
            remove = f"rm {shlex.quote(str(self.path))}"
            raise LedgerBroken(
                f"the vault's ledger {self.path} is {exc.what}, which clawgate does not follow",
                f"remove it to accept every envelope as it is now: {remove}",
            ) from None
        entries = verify(raw, self._key(), str(self.path), _discard(self.path))
        self._cached = (_stamp(st), entries)
        return entries

    def _legacy_files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.glob("[!.]*.json") if p.name != LEDGER]

    def _legacy(self) -> dict[str, Entry]:
        """What older versions' per-profile meta files say (not authenticated)."""
        entries = {}
        for path in self._legacy_files():
            try:
                raw, _ = read_nofollow(path)
                fields = json.loads(raw)
            except (OSError, ValueError):  # gone, a link (never followed), not JSON
                continue
            entries[unquote(path.name[: -len(".json")])] = Entry.from_json(fields)
        return entries

    def _upgrade(self) -> dict[str, Entry]:
        """No ledger yet: the older meta files, accepted this once and moved into a new one."""
        legacy = self._legacy()
        if not legacy:
            return {}
        try:
            with self._lock():
                if not os.path.lexists(self.path):
                    self._write(self._legacy())
                    self._drop_legacy()
        except (VaultError, OSError):  # busy, read-only, no key yet: a later call moves them
            return legacy
        return self._current() or {}

    # Writing (under the ledger's lock) ----------------------------------------------------

    def _write(self, entries: dict[str, Entry]) -> None:
        document = sign(entries, self._key())
        ensure_private_dir(self.dir)
        remove_stale_temps(self.path)  # we hold the ledger's lock: no live writer owns them
        write_atomic(self.path, document)
        self._cached = None

    def _drop_legacy(self) -> None:
        for path in self._legacy_files():
            path.unlink(missing_ok=True)

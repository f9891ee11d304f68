"""Copying a vault from one storage to another (``clawgate state migrate``): every profile's
envelope byte for byte, so each stays sealed to its name and generation under the same data
key, with its ledger entry (high water and status); and every secret of clawgate's own the
target lacks. The source is only read. A profile the target already holds at the same
generation or newer is left alone, so running it twice copies nothing the second time; each
copy is opened in the target before it is counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from clawgate.fileio import UnsafeFile
from clawgate.vault._errors import Unresolved, VaultError
from clawgate.vault._ledger import Entry, LedgerBroken
from clawgate.vault._store import Vault, _reported

__all__ = ["VaultCopy", "copy_vault"]


@dataclass
class VaultCopy:
    profiles: int = 0  # in the source
    copied: int = 0
    already: int = 0  # the target held it at that generation or newer
    secrets: int = 0
    secrets_copied: int = 0
    skipped: list[str] = field(default_factory=list)  # unreadable in the source: id and why


def _carried(entry: Entry) -> Callable[[Entry], Entry]:
    """The source's ledger entry, never lowering what the target already recorded."""
    return lambda old: Entry(max(old.high_water, entry.high_water), entry.status)


def copy_vault(source: Vault, target: Vault) -> VaultCopy:
    """Copy ``source``'s envelopes and secrets into ``target``; both use the same data key
    (each replica finds it as always: env, keyring, file)."""
    report = VaultCopy()
    if not source.storage.holds_envelopes():
        return report  # nothing to copy, and perhaps no key yet: none is made for nothing
    key = source.key()
    if target.key(create=True).key_id != key.key_id:
        raise Unresolved(
            "*",
            "the target vault's key is not the source's",
            fix="use the same vault key (CLAWGATE_VAULT_KEY or vault/key) for both",
        )
    for profile_id in source.storage.profile_ids():
        report.profiles += 1
        try:
            stored = source.load(profile_id)  # decrypts: nothing unreadable is carried over
            raw = source.storage.read(profile_id)
            entry = source.storage.entry(profile_id)
        except (VaultError, UnsafeFile, LedgerBroken) as exc:
            report.skipped.append(f"{profile_id}: {getattr(exc, 'message', exc)}")
            continue
        if raw is None:
            continue
        with target.lock(profile_id):
            if (target.generation(profile_id) or 0) >= stored.generation:
                report.already += 1
                continue
            try:
                target.storage.write(profile_id, raw, _carried(entry))
            except LedgerBroken as exc:
                raise _reported(profile_id, exc) from None
        copied = target.load(profile_id)  # verified: it opens there, as it was
        if copied.material != stored.material or copied.generation != stored.generation:
            raise Unresolved(profile_id, "the copy does not match its source")
        report.copied += 1
    for name in source.storage.secret_names():
        report.secrets += 1
        value = source.secret(name)
        if value is None or target.secret(name) is not None:
            continue
        target.save_secret(name, value)
        report.secrets_copied += 1
    return report

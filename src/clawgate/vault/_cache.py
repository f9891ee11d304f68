"""Profiles held in memory: the hot path of every turn reads here, with no disk and no
decryption. Whether a held copy is stale costs one small read of the envelope's generation."""

from __future__ import annotations

from clawgate.vault._store import StoredProfile, Vault


class ProfileCache:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._held: dict[str, StoredProfile] = {}

    def get(self, profile_id: str) -> StoredProfile | None:
        """The held copy, or None; never touches the disk."""
        return self._held.get(profile_id)

    def load(self, profile_id: str) -> StoredProfile:
        """Decrypt from the vault and hold the result."""
        stored = self.vault.load(profile_id)
        self._held[profile_id] = stored
        return stored

    def hold(self, stored: StoredProfile) -> None:
        """Hold what this process just wrote."""
        self._held[stored.profile_id] = stored

    def is_stale(self, profile_id: str) -> bool:
        """True when the vault has a different generation than the one held (or none held)."""
        held = self._held.get(profile_id)
        return held is None or self.vault.generation(profile_id) != held.generation

    def fresh(self, profile_id: str) -> StoredProfile:
        """The held copy if it is current, else a reload."""
        held = self._held.get(profile_id)
        if held is not None and not self.is_stale(profile_id):
            return held
        return self.load(profile_id)

    def forget(self, profile_id: str) -> None:
        self._held.pop(profile_id, None)

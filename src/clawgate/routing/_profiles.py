"""Which profiles a provider has, in the order to try them, and whether each can be used:
read from the config (``auth.order``, ``auth.profiles``) and the vault (kind, status).

Every turn asks, so profiles are held decrypted (`ProfileCache`: a new generation is one small
read to notice) and only the status, which the broker marks without a new generation, is read
each time."""

from __future__ import annotations

from clawgate.catalog import ProviderFacts, facts
from clawgate.config import Settings
from clawgate.routing._chain import ProfileInfo
from clawgate.vault import Kind, ProfileCache, Vault, VaultError

__all__ = ["VaultProfiles"]

_KIND_ORDER = {Kind.OAUTH: 0, Kind.TOKEN: 1, Kind.API_KEY: 2, Kind.NONE: 3}


class VaultProfiles:
    def __init__(self, vault: Vault, settings: Settings) -> None:
        self.vault = vault
        self.settings = settings
        self.held = ProfileCache(vault)

    def _ids(self, provider: str) -> list[str]:
        ordered = self.settings.auth.order.get(provider)
        if ordered:
            return list(ordered)
        prefix = f"{provider}:"
        stored = {p for p in self.vault.profile_ids() if p.startswith(prefix)}
        configured = {
            p for p, meta in self.settings.auth.profiles.items() if meta.provider == provider
        }
        return sorted(stored | configured)

    def facts(self, provider: str) -> ProviderFacts:
        return facts(provider, self.settings.models.providers.get(provider))

    def needs_credential(self, provider: str) -> bool:
        return self.facts(provider).needs_credential

    def profiles(self, provider: str) -> list[ProfileInfo]:
        ids = self._ids(provider)
        if not ids:
            known = self.facts(provider)
            if not known.needs_credential:
                return [ProfileInfo(f"{provider}:default", "free")]
            return [
                ProfileInfo(
                    f"{provider}:default",
                    known.billing,
                    usable=False,
                    reason="no_profile",
                    message=f"no credentials stored for {provider}",
                    fix=known.fix(),
                )
            ]
        found: list[tuple[int, ProfileInfo]] = []
        for profile_id in ids:
            try:
                stored = self.held.fresh(profile_id)
            except VaultError as exc:
                meta = self.settings.auth.profiles.get(profile_id)
                kind = Kind(meta.mode) if meta else Kind.API_KEY
                info = ProfileInfo(
                    profile_id,
                    kind.billing,
                    usable=False,
                    reason=exc.code,
                    message=exc.message,
                    fix=exc.fix,
                )
                found.append((_KIND_ORDER[kind], info))
                continue
            status = self.vault.status(profile_id)
            usable = status.state != "needs_login"
            info = ProfileInfo(
                profile_id,
                stored.kind.billing,
                usable=usable,
                reason=None if usable else "auth_dead",
                message=None if usable else f"needs a new login: {status.message or 'refused'}",
                fix=status.fix,
            )
            found.append((_KIND_ORDER[stored.kind], info))
        if not self.settings.auth.order.get(provider):
            found.sort(key=lambda pair: pair[0])  # stable: ids stay sorted within a kind
        return [info for _, info in found]

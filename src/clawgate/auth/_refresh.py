"""Steps 3-7 of the credential broker for an OAuth grant (docs/auth.md, "The credential broker"):
under the profile's cross-process lock, re-read the vault and adopt what another process
stored; else send the refresh request, persist the new material before anyone uses it, and on
failure classify it, never blanking what is stored.

A refresh ends in `Renewed` (adopted or refreshed: a credential to use), in `PutOff` (a
transient failure: the broker backs off and keeps a token that still works), or raises `Failed`
(a dead grant, marked ``needs_login`` on disk; or quota, entitlement, bad_request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import httpx

from clawgate.auth._renewal import (
    TRANSIENT,
    dead_login,
    login_of,
    provider_settings,
    still_needs_login,
)
from clawgate.auth.logins import AccountMismatch, ClientFactory, material_from_tokens
from clawgate.auth.oauth import OAuthClient, OAuthError, TokenError, refresh
from clawgate.clock import Clock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.vault import (
    Held,
    LockTimeout,
    Material,
    OAuthMaterial,
    ProfileStatus,
    StoredProfile,
    Vault,
)

__all__ = ["GrantRefresh", "PutOff", "Renewed"]


@dataclass(frozen=True)
class Renewed:
    """A credential to use, on disk: adopted from another process (step 4) or refreshed (6)."""

    stored: StoredProfile
    how: Literal["adopted", "refreshed"]


@dataclass(frozen=True)
class PutOff:
    """Step 7, transient: no new token now; back off (``retry_after`` when the issuer said)."""

    why: str
    retry_after: float | None = None
    stored: StoredProfile | None = None  # as re-read under the lock, with its failing status


@dataclass
class GrantRefresh:
    """Steps 3-7 for the OAuth grants of one broker."""

    vault: Vault
    settings: Settings
    http: httpx.AsyncClient
    clock: Clock
    expires: Callable[[Material], float | None]  # the broker's reading: a JWT's `exp` wins
    margin: float  # adopt only what is valid for longer than this (step 4)
    lock_wait: float
    timeout: float  # bounded below the lock's lifetime (step 5)
    # By provider: discovery once per process.
    _clients: dict[str, OAuthClient] = field(default_factory=dict, init=False, repr=False)

    async def renew(self, seen: StoredProfile, rejected: int | None) -> Renewed | PutOff:
        """Step 3: take the profile's cross-process lock, held across the whole refresh."""
        # ``seen``: what the broker read without the lock. ``rejected``: a generation a model
        # endpoint refused (step 8); nothing at or below it is adopted.
        try:
            async with self.vault.alock(seen.profile_id, wait=self.lock_wait) as held:
                current = self._reread(held, seen)  # step 4
                if self._adoptable(current, rejected):
                    return Renewed(current, "adopted")
                try:
                    new = await self._request(held, current)  # step 5
                except TokenError as exc:
                    return self._failed(held, current, exc)  # step 7
                except OAuthError as exc:  # the issuer's discovery failed: nothing was sent
                    return PutOff(exc.message, exc.failure.retry_after, current)
                return self._persist(held, current, new)  # step 6, then the lock is released
        except LockTimeout as exc:
            return PutOff(exc.message)

    def _reread(self, held: Held, seen: StoredProfile) -> StoredProfile:
        """Step 4: re-read the envelope under the lock (another process may have refreshed)."""
        current = held.current()
        if current is None:
            message = "its stored credentials were removed"
            raise dead_login(None, seen, self.settings, message, now=self.clock.now())
        refused = still_needs_login(current.status)
        if refused is not None:
            raise Failed(refused)
        return current

    def _adoptable(self, current: StoredProfile, rejected: int | None) -> bool:
        """Step 4: newer than a rejected generation, and valid for longer than the margin."""
        newer = rejected is None or current.generation > rejected
        return newer and self._valid(current, self.margin)

    async def _request(self, held: Held, current: StoredProfile) -> OAuthMaterial:
        """Step 5: send the refresh request (RFC 6749 §6), bounded by the timeout."""
        material, spec = current.material, login_of(current, self.settings)
        if (
            not isinstance(material, OAuthMaterial)
            or material.refresh is None
            or spec is None
            or spec.client is None
        ):
            message = "the access token expired and there is no refresh token"
            raise self._dead(held, current, message)
        try:
            async with asyncio.timeout(self.timeout):
                client = await self._client(current.provider, spec.client)
                tokens = await refresh(self.http, client, material.refresh, now=self.clock.now())
        except TimeoutError:
            timed_out = Failure(FailureClass.TIMEOUT, "the refresh request timed out")
            raise TokenError(timed_out) from None
        # The old refresh token is kept when the answer has none; another account is refused.
        try:
            return material_from_tokens(
                tokens, now=self.clock.now(), identity=spec.identity, previous=material
            )
        except AccountMismatch as exc:
            raise self._dead(held, current, exc.message) from None

    def _persist(self, held: Held, current: StoredProfile, new: OAuthMaterial) -> Renewed:
        """Step 6: write generation + 1, fsynced, before anyone uses the new access token."""
        stored = held.save(current.provider, new, ProfileStatus(refreshed_at=self.clock.now()))
        if not self._valid(stored, 0.0):
            message = "the issuer sent a token that is already expired"
            raise Failed(Failure(FailureClass.AUTH_TRANSIENT, message))
        return Renewed(stored, "refreshed")

    def _failed(self, held: Held, current: StoredProfile, exc: TokenError) -> Renewed | PutOff:
        """Step 7: classify a failed refresh; the stored material is never blanked."""
        if exc.reuse_suspected:
            # Another process may have rotated the grant just now: re-read once, adopt if changed.
            again = held.current()
            if (
                again is not None
                and again.generation != current.generation
                and self._valid(again, 0.0)
            ):
                return Renewed(again, "adopted")
        kind = exc.failure.kind
        if kind is FailureClass.AUTH_DEAD:
            raise self._dead(held, current, f"the refresh was refused: {exc.message}")
        if kind in TRANSIENT:
            # Durable, so status can say "refresh failing since …" without a network call.
            before = current.status
            failing = ProfileStatus(
                message=exc.message,
                since=before.since if before.failing and before.since else self.clock.now(),
                last_error=kind.value,
                refreshed_at=before.refreshed_at,
            )
            held.mark(failing)
            return PutOff(exc.message, exc.failure.retry_after, replace(current, status=failing))
        # quota / entitlement / bad_request: answers about the account or our setup, never a
        # reason to log in again.
        raise Failed(exc.failure)

    async def _client(self, provider: str, factory: ClientFactory) -> OAuthClient:
        client = self._clients.get(provider)
        if client is None:
            client = await factory(self.http, provider_settings(self.settings, provider))
            self._clients[provider] = client
        return client

    def _dead(self, held: Held, current: StoredProfile, message: str) -> Failed:
        return dead_login(held, current, self.settings, message, now=self.clock.now())

    def _valid(self, stored: StoredProfile, margin: float) -> bool:
        """Whether the stored credential is usable for longer than ``margin`` seconds."""
        if stored.status.state != "ok":
            return False
        expires_at = self.expires(stored.material)
        return expires_at is None or expires_at - self.clock.now() > margin

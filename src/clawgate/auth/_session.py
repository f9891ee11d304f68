"""GitHub Copilot's session token (docs/auth.md, "Provider facts"): a short-lived token minted from
the stored GitHub token, held in memory only and never written to the vault.

A GitHub token the mint endpoint refuses is a dead login: durable ``needs_login`` with the fix
(step 7). An endpoint that cannot answer now is ``auth_transient``. Other refusals are raised
as they came. All of them as `Failed`, which the broker re-raises for the profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from clawgate.auth._renewal import TRANSIENT, dead_login, provider_settings
from clawgate.auth.logins import SessionFactory, SessionToken
from clawgate.auth.oauth import TokenError
from clawgate.clock import Clock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.vault import StoredProfile, Vault

__all__ = ["SessionMint"]


@dataclass(frozen=True)
class SessionMint:
    vault: Vault
    settings: Settings
    http: httpx.AsyncClient
    clock: Clock
    lock_wait: float  # for marking a dead login

    async def mint(self, stored: StoredProfile, session: SessionFactory) -> SessionToken:
        """A new session token from the stored login (``session``: the provider's factory)."""
        settings = provider_settings(self.settings, stored.provider)
        try:
            token = await session(self.http, settings, stored.material, self.clock.now())
        except TokenError as exc:
            raise await self._refused(stored, exc) from None
        if token.expires_at is not None and token.expires_at <= self.clock.now():
            message = "the Copilot token is already expired"
            raise Failed(Failure(FailureClass.AUTH_TRANSIENT, message))
        return token

    async def _refused(self, stored: StoredProfile, exc: TokenError) -> Failed:
        """Step 7 for the mint endpoint's refusal."""
        failure = exc.failure
        if failure.kind is FailureClass.AUTH_DEAD:  # the GitHub token itself is refused
            async with self.vault.alock(stored.profile_id, wait=self.lock_wait) as held:
                return dead_login(held, stored, self.settings, exc.message, now=self.clock.now())
        if failure.kind in TRANSIENT:
            transient = Failure(
                FailureClass.AUTH_TRANSIENT, exc.message, retry_after=failure.retry_after
            )
            return Failed(transient)
        return exc

"""The credential broker: a usable credential for a profile, refreshed only when needed, by one
process at a time, with the rotated token on disk before it is used (AUTH.md, "The credential
broker"; the numbered steps below are that section's).

::

    ClawgateError
     └── CredentialError     no usable credential now; ``failure`` is its class
                             (auth_dead, auth_transient, quota, entitlement, bad_request, …)

The hot path (step 1) is a dictionary lookup and a comparison of two floats.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import httpx

from clawgate.auth._jwt import expiry
from clawgate.auth.logins import AccountMismatch, LoginSpec, SessionToken, login_spec
from clawgate.auth.logins import material_from_tokens as _material
from clawgate.auth.oauth import OAuthClient, OAuthError, TokenError, refresh
from clawgate.clock import Clock, SystemClock
from clawgate.config import ProviderSettings, Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    Held,
    Kind,
    LockTimeout,
    Material,
    OAuthMaterial,
    ProfileStatus,
    StoredProfile,
    TokenMaterial,
    Vault,
)

# What the broker did to produce a credential: probes report it (ARCHITECTURE.md).
How = Literal["memory", "vault", "adopted", "refreshed", "stale-but-valid"]

_TRANSIENT = frozenset(
    {
        FailureClass.SERVER_ERROR,
        FailureClass.RATE_LIMIT,
        FailureClass.TIMEOUT,
        FailureClass.NETWORK,
        FailureClass.OVERLOADED,
    }
)
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 300.0


class CredentialError(Failed):
    """No usable credential for ``profile_id`` now: the failure, said of that profile."""

    def __init__(self, profile_id: str, failure: Failure) -> None:
        super().__init__(failure, message=f"{profile_id}: {failure.message}")
        self.profile_id = profile_id


@dataclass(frozen=True)
class Credential:
    """What a transport needs to call a model for a profile."""

    profile_id: str
    provider: str
    kind: Kind
    token: Secret | None  # the bearer or API key; None for kind `none`
    generation: int
    expires_at: float | None
    how: How
    account_id: str | None = None
    base_url: str | None = None  # GitHub Copilot's token names its API host
    note: str | None = None  # e.g. why a refresh was put off


@dataclass
class _Entry:
    stored: StoredProfile
    expires_at: float | None
    session: SessionToken | None = None
    failures: int = 0
    backoff_until: float = 0.0
    memo: Credential | None = None  # the step-1 answer, built once


def material_expiry(material: Material) -> float | None:
    """When the credential stops working; a JWT's own ``exp`` wins (step 1)."""
    if isinstance(material, OAuthMaterial):
        return expiry(material.access.reveal()) or material.expires_at
    if isinstance(material, TokenMaterial):
        return expiry(material.token.reveal()) or material.expires_at
    return None


class Broker:
    def __init__(
        self,
        vault: Vault,
        settings: Settings,
        *,
        http: httpx.AsyncClient,
        clock: Clock | None = None,
        lock_wait: float = 30.0,
        refresh_timeout: float = 20.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.http = http
        self.clock = clock or SystemClock()
        self.margin = float(settings.auth.refresh_margin_seconds)
        self.lock_wait = lock_wait
        # Bounded below the lock wait, so a waiter never gives up on a live refresher.
        self.refresh_timeout = min(refresh_timeout, lock_wait * 0.8)
        self.jitter = jitter
        self._entries: dict[str, _Entry] = {}
        self._flights: dict[str, asyncio.Future[Credential]] = {}
        self._clients: dict[str, OAuthClient] = {}  # by provider: discovery once per process

    # The public surface ---------------------------------------------------------------------

    async def credential(
        self, profile_id: str, *, force_refresh_if_generation: int | None = None
    ) -> Credential:
        """A credential valid for more than the refresh margin, or `CredentialError`.

        ``force_refresh_if_generation``: the model endpoint rejected that generation (401);
        reload, and refresh unless the vault already holds something newer (step 8)."""
        entry = self._entries.get(profile_id)
        if entry is not None and force_refresh_if_generation is None:  # step 1
            memo = entry.memo
            if memo is not None and (
                memo.expires_at is None or memo.expires_at - self.clock.now() > self.margin
            ):
                return memo
            entry.memo = self._fresh(entry)
            if entry.memo is not None:
                return entry.memo
        credential = await self._single_flight(profile_id, force_refresh_if_generation)
        forced = force_refresh_if_generation
        if forced is not None and credential.generation <= forced and credential.how == "vault":
            # We joined a renewal that was not forced and that returned the rejected token.
            credential = await self._single_flight(profile_id, forced)
        return credential

    def generation(self, profile_id: str) -> int | None:
        """The vault's generation of the profile (a stat and a small read); None if none."""
        return self.vault.generation(profile_id)

    def observe(self, profile_id: str, generation: int) -> None:
        """The vault holds ``generation`` now (another process logged in, or added a key):
        forget what this process held from before, so the next call reads the new one."""
        entry = self._entries.get(profile_id)
        if entry is not None and generation > entry.stored.generation:
            del self._entries[profile_id]

    # Step 2: one renewal per profile in this process ----------------------------------------

    async def _single_flight(self, profile_id: str, forced: int | None) -> Credential:
        flight = self._flights.get(profile_id)
        if flight is None:
            # A task of its own: a caller that goes away does not abort a refresh whose
            # answer (a rotated refresh token) must still reach the disk.
            flight = asyncio.ensure_future(self._renew(profile_id, forced))
            self._flights[profile_id] = flight
            flight.add_done_callback(lambda done: self._landed(profile_id, done))
        return await asyncio.shield(flight)

    def _landed(self, profile_id: str, flight: asyncio.Future[Credential]) -> None:
        if self._flights.get(profile_id) is flight:
            del self._flights[profile_id]
        if not flight.cancelled():
            flight.exception()  # retrieved: callers that left must not leave it unobserved

    async def _renew(self, profile_id: str, forced: int | None) -> Credential:
        # Without the lock first: most renewals are "another process already did it", or a
        # first use whose stored credential is fine.
        entry = self._hold(self.vault.load(profile_id))
        self._check_status(entry)
        if forced is None or entry.stored.generation > forced:
            found = self._fresh(entry, how="vault" if forced is None else "adopted")
            if found is not None:
                return found
        spec = self._spec(entry)
        if spec is not None and spec.session is not None and entry.stored.kind is Kind.TOKEN:
            return await self._new_session(entry, spec)
        if not isinstance(entry.stored.material, OAuthMaterial):
            return self._not_renewable(entry, forced)
        if self.clock.now() < entry.backoff_until:
            return self._put_off(entry, None)
        try:
            async with self.vault.alock(profile_id, wait=self.lock_wait) as held:  # step 3
                return await self._refresh_locked(held, entry, forced)
        except LockTimeout as exc:
            return self._put_off(entry, exc)

    # Steps 4-7: under the cross-process lock -------------------------------------------------

    async def _refresh_locked(self, held: Held, seen: _Entry, forced: int | None) -> Credential:
        current = held.current()
        if current is None:
            raise self._dead(seen, "its stored credentials were removed", mark=None)
        entry = self._hold(current)
        self._check_status(entry)
        # Step 4: another process refreshed while we waited.
        if forced is None or current.generation > forced:
            found = self._fresh(entry, how="adopted")
            if found is not None:
                return found
        material = current.material
        assert isinstance(material, OAuthMaterial)
        spec = self._spec(entry)
        if material.refresh is None or spec is None or spec.client is None:
            raise self._dead(entry, "the access token expired and there is no refresh token", held)
        try:
            async with asyncio.timeout(self.refresh_timeout):  # step 5
                client = await self._client(entry, spec)
                tokens = await refresh(self.http, client, material.refresh, now=self.clock.now())
            new = _material(tokens, now=self.clock.now(), identity=spec.identity, previous=material)
        except TimeoutError:
            error = TokenError(Failure(FailureClass.TIMEOUT, "the refresh request timed out"))
            return self._refresh_failed(held, entry, error)
        except TokenError as exc:
            return self._refresh_failed(held, entry, exc)
        except OAuthError as exc:  # discovery of the issuer failed
            return self._put_off(entry, exc)
        except AccountMismatch as exc:
            raise self._dead(entry, exc.message, held) from None
        # Step 6: on disk (fsynced) before anyone uses the new access token.
        stored = held.save(current.provider, new, ProfileStatus(refreshed_at=self.clock.now()))
        entry = self._hold(stored)
        found = self._fresh(entry, how="refreshed", margin=0.0)
        if found is None:
            raise self._error(
                entry,
                "the issuer sent a token that is already expired",
                FailureClass.AUTH_TRANSIENT,
            )
        return found

    def _refresh_failed(self, held: Held, entry: _Entry, exc: TokenError) -> Credential:
        """Step 7: stored material is never blanked; what happens depends on the class."""
        if exc.reuse_suspected:
            again = held.current()
            if again is not None and again.generation != entry.stored.generation:
                found = self._fresh(self._hold(again), how="adopted", margin=0.0)
                if found is not None:
                    return found
        if exc.failure.kind is FailureClass.AUTH_DEAD:
            raise self._dead(entry, f"the refresh was refused: {exc.message}", held)
        if exc.failure.kind in _TRANSIENT:
            # Durable, so status can say "refresh failing since …" without a network call.
            before = entry.stored.status
            failing = ProfileStatus(
                message=exc.message,
                since=before.since if before.failing and before.since else self.clock.now(),
                last_error=exc.failure.kind.value,
                refreshed_at=before.refreshed_at,
            )
            held.mark(failing)
            entry.stored = replace(entry.stored, status=failing)
            return self._put_off(entry, exc)
        # quota / entitlement / bad_request: answers about the account or our setup, never a
        # reason to log in again.
        raise CredentialError(entry.stored.profile_id, exc.failure)

    # Outcomes -------------------------------------------------------------------------------

    def _put_off(self, entry: _Entry, exc: Failed | LockTimeout | None) -> Credential:
        """A transient failure: back off, and keep using a token that still works."""
        now = self.clock.now()
        if exc is not None:
            entry.failures += 1
            hinted = exc.failure.retry_after if isinstance(exc, Failed) else None
            delay = hinted if hinted is not None else self._backoff(entry.failures)
            entry.backoff_until = now + delay
        why = exc.message if exc is not None else "backing off"
        found = self._fresh(entry, how="stale-but-valid", margin=0.0)
        if found is not None:
            return replace(found, note=f"refresh put off: {why}")
        raise self._error(
            entry,
            f"the access token expired and the refresh failed for now: {why}",
            FailureClass.AUTH_TRANSIENT,
            retry_after=max(0.0, entry.backoff_until - now),
        )

    def _backoff(self, failures: int) -> float:
        base = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (failures - 1))
        return base * (0.5 + self.jitter() / 2)

    def _dead(self, entry: _Entry, message: str, mark: Held | None) -> CredentialError:
        """A dead grant: durable ``needs_login`` (until the material changes) with the fix."""
        fix = self._fix(entry)
        status = ProfileStatus(
            state="needs_login",
            message=message,
            since=self.clock.now(),
            fix=fix,
            last_error=FailureClass.AUTH_DEAD.value,
        )
        if mark is not None:
            mark.mark(status)
            entry.stored = replace(entry.stored, status=status)
            entry.memo = None
        return CredentialError(
            entry.stored.profile_id, Failure(FailureClass.AUTH_DEAD, message, fix=fix)
        )

    def _fix(self, entry: _Entry) -> str:
        provider = entry.stored.provider
        if isinstance(entry.stored.material, ApiKeyMaterial):
            return (
                f"replace the key: clawgate models auth add --provider {provider} --api-key-stdin"
            )
        spec = self._spec(entry)
        return spec.fix_command() if spec else f"clawgate models auth login --provider {provider}"

    def _not_renewable(self, entry: _Entry, forced: int | None) -> Credential:
        stored = entry.stored
        if forced is not None:
            what = "API key" if isinstance(stored.material, ApiKeyMaterial) else "token"
            message = f"the provider rejected the stored {what}"
        else:
            message = "the stored token has expired"
        raise CredentialError(
            stored.profile_id, Failure(FailureClass.AUTH_DEAD, message, fix=self._fix(entry))
        )

    async def _new_session(self, entry: _Entry, spec: LoginSpec) -> Credential:
        """GitHub Copilot: a short-lived token from the stored GitHub login, in memory only."""
        assert spec.session is not None
        settings = self._provider_settings(entry)
        try:
            entry.session = await spec.session(
                self.http, settings, entry.stored.material, self.clock.now()
            )
        except TokenError as exc:
            if exc.failure.kind is FailureClass.AUTH_DEAD:
                async with self.vault.alock(entry.stored.profile_id, wait=self.lock_wait) as held:
                    raise self._dead(entry, exc.message, held) from None
            if exc.failure.kind in _TRANSIENT:
                raise self._error(
                    entry,
                    exc.message,
                    FailureClass.AUTH_TRANSIENT,
                    retry_after=exc.failure.retry_after,
                ) from None
            raise CredentialError(entry.stored.profile_id, exc.failure) from None
        entry.expires_at = entry.session.expires_at
        entry.memo = None
        found = self._fresh(entry, how="refreshed", margin=0.0)
        if found is None:
            raise self._error(
                entry, "the Copilot token is already expired", FailureClass.AUTH_TRANSIENT
            )
        return found

    # Helpers --------------------------------------------------------------------------------

    def _hold(self, stored: StoredProfile) -> _Entry:
        old = self._entries.get(stored.profile_id)
        entry = _Entry(stored, material_expiry(stored.material))
        if old is not None and old.stored.generation == stored.generation:
            entry.session, entry.failures = old.session, old.failures
            entry.backoff_until = old.backoff_until
            if old.session is not None:
                entry.expires_at = old.session.expires_at
        self._entries[stored.profile_id] = entry
        return entry

    def _fresh(
        self, entry: _Entry, *, how: How = "memory", margin: float | None = None
    ) -> Credential | None:
        """The entry as a credential if it is valid for longer than ``margin``."""
        stored = entry.stored
        if stored.status.state != "ok":
            return None
        if entry.session is None and stored.kind is Kind.TOKEN and self._has_session(entry):
            return None
        expires_at = entry.expires_at
        limit = self.margin if margin is None else margin
        if expires_at is not None and expires_at - self.clock.now() <= limit:
            return None
        material = stored.material
        token: Secret | None = None
        if entry.session is not None:
            token = entry.session.token
        elif isinstance(material, OAuthMaterial):
            token = material.access
        elif isinstance(material, TokenMaterial):
            token = material.token
        elif isinstance(material, ApiKeyMaterial):
            token = material.key
        return Credential(
            profile_id=stored.profile_id,
            provider=stored.provider,
            kind=stored.kind,
            token=token,
            generation=stored.generation,
            expires_at=expires_at,
            how=how,
            account_id=getattr(material, "account_id", None),
            base_url=entry.session.base_url if entry.session else None,
        )

    def _check_status(self, entry: _Entry) -> None:
        status = entry.stored.status
        if status.state == "needs_login":
            # No further refresh attempts until the material changes (step 7).
            raise CredentialError(
                entry.stored.profile_id,
                Failure(
                    FailureClass.AUTH_DEAD,
                    f"needs a new login: {status.message or 'the login was refused'}",
                    fix=status.fix,
                ),
            )

    def _error(
        self,
        entry: _Entry,
        message: str,
        failure: FailureClass,
        *,
        retry_after: float | None = None,
    ) -> CredentialError:
        return CredentialError(
            entry.stored.profile_id, Failure(failure, message, retry_after=retry_after)
        )

    def _provider_settings(self, entry: _Entry) -> ProviderSettings:
        found = self.settings.models.providers.get(entry.stored.provider)
        return found or ProviderSettings()

    async def _client(self, entry: _Entry, spec: LoginSpec) -> OAuthClient:
        provider = entry.stored.provider
        client = self._clients.get(provider)
        if client is None:
            assert spec.client is not None
            client = await spec.client(self.http, self._provider_settings(entry))
            self._clients[provider] = client
        return client

    def _has_session(self, entry: _Entry) -> bool:
        spec = self._spec(entry)
        return spec is not None and spec.session is not None

    def _spec(self, entry: _Entry) -> LoginSpec | None:
        try:
            return login_spec(entry.stored.provider, self._provider_settings(entry))
        except OAuthError:
            return None

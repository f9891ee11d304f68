"""The credential broker: a usable credential for a profile, refreshed only when needed, by one
process at a time, with the rotated token on disk before it is used (docs/auth.md, "The credential
broker"; the numbered steps are that section's).

::

    ClawgateError
     └── Failed
          └── CredentialError     no usable credential now; ``failure`` is its class
                                  (auth_dead, auth_transient, quota, entitlement, bad_request, …)

Here: step 1 (memory), step 2 (single flight), step 8 (past a rejected generation), and what
is held in memory between them. Steps 3-7 for an OAuth grant are `auth._refresh`; GitHub
Copilot's short-lived session token is `auth._session`. The hot path (step 1) is a dictionary
lookup and a comparison of two floats.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import httpx

from clawgate import metrics
from clawgate.auth._expiry import material_expiry
from clawgate.auth._refresh import GrantRefresh, PutOff
from clawgate.auth._renewal import fix_command, login_of, still_needs_login
from clawgate.auth._session import SessionMint
from clawgate.auth.logins import SessionFactory, SessionToken
from clawgate.clock import Clock, SystemClock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    Kind,
    Material,
    OAuthMaterial,
    StoredProfile,
    TokenMaterial,
    Vault,
)

# What the broker did to produce a credential: probes report it (docs/architecture.md).
How = Literal["memory", "vault", "adopted", "refreshed", "stale-but-valid"]

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
    """One profile as this process holds it in memory."""

    stored: StoredProfile
    expires_at: float | None  # the material's, or the session token's once there is one
    mint: SessionFactory | None = None  # GitHub Copilot: calls use a session token made from it
    session: SessionToken | None = None
    failures: int = 0  # transient refresh failures in a row, for the backoff (step 7)
    backoff_until: float = 0.0
    memo: Credential | None = None  # the step-1 answer, built once


@dataclass(frozen=True)
class _Flight:
    """A renewal in the air (step 2), forced ``past`` a rejected generation (step 8) or not."""

    task: asyncio.Future[Credential]
    past: int | None

    def serves(self, rejected: int | None) -> bool:
        """Any renewal serves a plain caller; a forced one only a renewal forced as far."""
        return rejected is None or (self.past is not None and self.past >= rejected)


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
        # Bounded below the lock wait, so a waiter never gives up on a live refresher (step 5).
        self.refresh_timeout = min(refresh_timeout, lock_wait * 0.8)
        self.jitter = jitter
        self._entries: dict[str, _Entry] = {}
        self._flights: dict[str, _Flight] = {}
        self._grants = GrantRefresh(
            vault,
            settings,
            http,
            self.clock,
            expires=material_expiry,
            margin=self.margin,
            lock_wait=lock_wait,
            timeout=self.refresh_timeout,
        )
        self._sessions = SessionMint(vault, settings, http, self.clock, lock_wait=lock_wait)

    # The public surface ---------------------------------------------------------------------

    async def credential(
        self, profile_id: str, *, force_refresh_if_generation: int | None = None
    ) -> Credential:
        """A credential valid for more than the refresh margin, or `CredentialError`.

        ``force_refresh_if_generation``: the model endpoint rejected that generation (401);
        reload, and refresh unless the vault already holds something newer (step 8)."""
        rejected = force_refresh_if_generation
        if rejected is not None:
            return await self._refresh_past(profile_id, rejected)  # step 8
        found = self._in_memory(profile_id)  # step 1
        if found is not None:
            return found
        return await self._single_flight(profile_id, None)  # step 2, and 3-7 in its flight

    def generation(self, profile_id: str) -> int | None:
        """The vault's generation of the profile (a stat and a small read); None if none."""
        return self.vault.generation(profile_id)

    def observe(self, profile_id: str, generation: int) -> None:
        """The vault holds ``generation`` now (another process logged in, or added a key):
        forget what this process held from before, so the next call reads the new one."""
        entry = self._entries.get(profile_id)
        if entry is not None and generation > entry.stored.generation:
            del self._entries[profile_id]

    # The steps ------------------------------------------------------------------------------

    def _in_memory(self, profile_id: str) -> Credential | None:
        """Step 1: the credential in memory if valid for more than the margin; no I/O."""
        entry = self._entries.get(profile_id)
        if entry is None:
            return None
        memo = entry.memo
        if memo is not None and _lasts(memo.expires_at, self.clock.now(), self.margin):
            return memo
        entry.memo = self._credential(entry, "memory") if self._valid(entry, self.margin) else None
        return entry.memo

    async def _single_flight(self, profile_id: str, rejected: int | None) -> Credential:
        """Step 2: one renewal per profile in this process; concurrent callers await it."""
        flight = self._flights.get(profile_id)
        if flight is None or not flight.serves(rejected):
            # A task of its own: a caller that goes away does not abort a refresh whose answer
            # (a rotated refresh token) must still reach the disk. One that does not serve
            # this caller is let land first: the renewals of a profile never overlap.
            task = asyncio.ensure_future(self._renew(profile_id, rejected, after=flight))
            flight = self._flights[profile_id] = _Flight(task, rejected)
            task.add_done_callback(lambda done: self._landed(profile_id, done))
        return await asyncio.shield(flight.task)

    def _landed(self, profile_id: str, task: asyncio.Future[Credential]) -> None:
        flight = self._flights.get(profile_id)
        if flight is not None and flight.task is task:
            del self._flights[profile_id]
        if not task.cancelled():
            task.exception()  # retrieved: callers that left must not leave it unobserved

    async def _renew(
        self, profile_id: str, rejected: int | None, *, after: _Flight | None
    ) -> Credential:
        """Step 2's flight: the stored credential if it will do, else a renewal (steps 3-7)."""
        if after is not None:
            await asyncio.wait([after.task])
        # Without the lock first: most renewals are "another process already did it", or a
        # first use whose stored credential is fine.
        entry = self._hold(self.vault.load(profile_id))
        dead = still_needs_login(entry.stored.status)  # step 7: until the material changes
        if dead is not None:
            raise CredentialError(profile_id, dead)
        newer = rejected is None or entry.stored.generation > rejected  # step 8: past it only
        if newer and self._valid(entry, self.margin):
            return self._credential(entry, "vault" if rejected is None else "adopted")
        if entry.mint is not None:
            return await self._new_session(entry, entry.mint)
        if not isinstance(entry.stored.material, OAuthMaterial):
            raise self._not_renewable(entry, rejected)
        if self.clock.now() < entry.backoff_until:
            return self._put_off(entry, "backing off")
        return await self._refresh(entry, rejected)

    async def _refresh(self, entry: _Entry, rejected: int | None) -> Credential:
        """Steps 3-7 for an OAuth grant (`auth._refresh`), and what they leave in memory."""
        try:
            outcome = await self._grants.renew(entry.stored, rejected)
        except Failed as exc:
            metrics.refreshed(entry.stored.provider, exc.code)
            raise self._refused(entry, exc) from None
        how = "put_off" if isinstance(outcome, PutOff) else outcome.how
        metrics.refreshed(entry.stored.provider, how)
        if isinstance(outcome, PutOff):  # step 7, transient
            if outcome.stored is not None:
                entry = self._hold(outcome.stored)
            self._back_off(entry, outcome.retry_after)
            return self._put_off(entry, outcome.why)
        return self._credential(self._hold(outcome.stored), outcome.how)

    async def _new_session(self, entry: _Entry, mint: SessionFactory) -> Credential:
        """GitHub Copilot: a new short-lived token from the stored login (`auth._session`)."""
        try:
            entry.session = await self._sessions.mint(entry.stored, mint)
        except Failed as exc:
            metrics.refreshed(entry.stored.provider, exc.code)
            raise self._refused(entry, exc) from None
        metrics.refreshed(entry.stored.provider, "minted")
        entry.expires_at = entry.session.expires_at
        entry.memo = None
        return self._credential(entry, "refreshed")

    async def _refresh_past(self, profile_id: str, rejected: int) -> Credential:
        """Step 8: a 401 on generation ``rejected``: adopt a newer one, else force a refresh."""
        # Through step 2, but only into a flight forced as far (`_Flight.serves`); the flight
        # reloads from disk and adopts only a generation above ``rejected`` (`_renew`, step 4).
        return await self._single_flight(profile_id, rejected)

    # Outcomes -------------------------------------------------------------------------------

    def _refused(self, entry: _Entry, exc: Failed) -> CredentialError:
        """Step 7: a renewal's refusal, said of the profile."""
        # A dead login leaves memory: the next call finds its durable needs_login, not a token
        # the provider refused.
        profile_id = entry.stored.profile_id
        if exc.failure.kind is FailureClass.AUTH_DEAD:
            self._entries.pop(profile_id, None)
        return CredentialError(profile_id, exc.failure)

    def _back_off(self, entry: _Entry, retry_after: float | None) -> None:
        """Step 7, transient: no attempt before Retry-After, else a jittered backoff."""
        entry.failures += 1
        if retry_after is None:
            retry_after = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (entry.failures - 1))
            retry_after *= 0.5 + self.jitter() / 2
        entry.backoff_until = self.clock.now() + retry_after

    def _put_off(self, entry: _Entry, why: str) -> Credential:
        """Step 7, transient: keep using a token that still works, else say when to retry."""
        if self._valid(entry, 0.0):
            credential = self._credential(entry, "stale-but-valid")
            return replace(credential, note=f"refresh put off: {why}")
        failure = Failure(
            FailureClass.AUTH_TRANSIENT,
            f"the access token expired and the refresh failed for now: {why}",
            retry_after=max(0.0, entry.backoff_until - self.clock.now()),
        )
        raise CredentialError(entry.stored.profile_id, failure)

    def _not_renewable(self, entry: _Entry, rejected: int | None) -> CredentialError:
        """A static token or key that expired or was rejected: only the person can fix it."""
        stored = entry.stored
        if rejected is not None:
            what = "API key" if isinstance(stored.material, ApiKeyMaterial) else "token"
            message = f"the provider rejected the stored {what}"
        else:
            message = "the stored token has expired"
        fix = fix_command(stored, self.settings)
        return CredentialError(stored.profile_id, Failure(FailureClass.AUTH_DEAD, message, fix=fix))

    # Memory ---------------------------------------------------------------------------------

    def _hold(self, stored: StoredProfile) -> _Entry:
        """Hold what the vault gave; a session and backoff survive while the generation does."""
        login = login_of(stored, self.settings) if stored.kind is Kind.TOKEN else None
        entry = _Entry(stored, material_expiry(stored.material), login.session if login else None)
        old = self._entries.get(stored.profile_id)
        if old is not None and old.stored.generation == stored.generation:
            entry.session, entry.failures = old.session, old.failures
            entry.backoff_until = old.backoff_until
            if old.session is not None:
                entry.expires_at = old.session.expires_at
        self._entries[stored.profile_id] = entry
        return entry

    def _valid(self, entry: _Entry, margin: float) -> bool:
        """Whether the entry is usable for longer than ``margin`` seconds from now."""
        if entry.stored.status.state != "ok":
            return False
        if entry.mint is not None and entry.session is None:
            return False  # the stored login is not what model calls use
        return _lasts(entry.expires_at, self.clock.now(), margin)

    def _credential(self, entry: _Entry, how: How) -> Credential:
        """The entry as what a transport needs."""
        stored, session = entry.stored, entry.session
        material = stored.material
        return Credential(
            profile_id=stored.profile_id,
            provider=stored.provider,
            kind=stored.kind,
            token=session.token if session is not None else _bearer(material),
            generation=stored.generation,
            expires_at=entry.expires_at,
            how=how,
            account_id=material.account_id if isinstance(material, OAuthMaterial) else None,
            base_url=session.base_url if session is not None else None,
        )


def _lasts(expires_at: float | None, now: float, margin: float) -> bool:
    return expires_at is None or expires_at - now > margin


def _bearer(material: Material) -> Secret | None:
    if isinstance(material, OAuthMaterial):
        return material.access
    if isinstance(material, TokenMaterial):
        return material.token
    if isinstance(material, ApiKeyMaterial):
        return material.key
    return None

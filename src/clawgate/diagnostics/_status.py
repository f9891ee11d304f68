"""`models status` without ``--probe``: what the next turn will find, from state alone.

No network and no decryption beyond the vault's own read of each profile: it is run from shell
prompts and cron. Every profile that cannot be used says why and the command that fixes it;
an envelope that cannot be decrypted is never ``ok`` (docs/auth.md, "Failure modes" 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clawgate.auth import material_expiry, view_profile
from clawgate.clock import Clock
from clawgate.config import ProfileMeta, Settings
from clawgate.postgres import StoreUnavailable
from clawgate.routing import Candidate, Health, RoutingError, Skip, VaultProfiles, plan
from clawgate.state import State, StoreCheck
from clawgate.vault import (
    BadProfileId,
    KeyUnavailable,
    OAuthMaterial,
    ProfileStatus,
    StoredProfile,
    Vault,
)
from clawgate.views import json_value

__all__ = ["ChainEntry", "Grant", "ProfileReport", "StatusReport", "collect_status"]


@dataclass(frozen=True)
class Grant:
    """A refresh grant, told apart from the access token it last produced (docs/auth.md)."""

    state: str  # none | untested | ok | failing | dead
    at: float | None = None  # refreshed at / failing since / dead since
    message: str | None = None  # the provider's words


@dataclass(frozen=True)
class Mark:
    kind: str  # cooldown | block | circuit
    model: str | None
    until: float
    reason: str


@dataclass
class ProfileReport:
    profile: str
    provider: str
    kind: str | None
    billing: str | None
    state: str  # auth.ProfileState: ok | needs_login | unresolved | tampered | missing
    detail: str | None = None
    fix: str | None = None
    expires_at: float | None = None
    valid_for: float | None = None
    grant: Grant = field(default_factory=lambda: Grant("none"))
    health: list[Mark] = field(default_factory=list)
    last_used: float | None = None  # the last turn that sent it a request, failed or not
    last_result: str | None = None  # how that attempt ended: succeeded | failed | client_gone
    last_probe: dict[str, Any] | None = None
    used_by: list[str] = field(default_factory=list)

    @property
    def attention(self) -> list[str]:
        """What needs a person, in words; empty when the profile is fine."""
        reasons = []
        if self.state != "ok":
            detail = f" ({self.detail})" if self.detail else ""
            fix = f"; fix: {self.fix}" if self.fix else ""
            reasons.append(f"{self.profile}: {self.state}{detail}{fix}")
        if self.grant.state == "failing" and self.state == "ok":
            reasons.append(f"{self.profile}: refresh failing: {self.grant.message}")
        if self.valid_for is not None and self.valid_for <= 0 and self.grant.state == "none":
            reasons.append(f"{self.profile}: the stored token has expired")
        for mark in self.health:
            reasons.append(f"{self.profile}: {mark.kind} ({mark.reason})")
        probe = self.last_probe
        if probe and not probe.get("ok") and not self._answered_since(probe.get("at")):
            reasons.append(
                f"{self.profile}: the last probe failed ({probe.get('failure')}: "
                f"{probe.get('message')})"
            )
        return reasons

    def _answered_since(self, at: float | None) -> bool:
        """A turn it answered after the probe says more than the probe."""
        return (
            self.last_result == "succeeded"
            and self.last_used is not None
            and (at is None or self.last_used > at)
        )


@dataclass(frozen=True)
class ChainEntry:
    ref: str
    role: str  # primary | fallback
    alias: str | None
    context: int | None
    steps: list[dict[str, Any]]  # each profile: {"profile", "decision", "reason"}


@dataclass
class StatusReport:
    config: str | None  # the file in use, None for built-in defaults
    vault_key: str | None
    vault_key_error: str | None
    profiles: list[ProfileReport]
    chain: list[ChainEntry]
    chain_error: str | None = None
    chain_fix: str | None = None  # what makes the chain resolve
    gateway: dict[str, Any] | None = None
    state_store: StoreCheck | None = None  # which backend, and whether it is usable

    @property
    def attention(self) -> list[str]:
        reasons = [r for p in self.profiles for r in p.attention]
        if self.vault_key_error:
            reasons.append(f"vault key: {self.vault_key_error}")
        if self.state_store and self.state_store.status == "fail":
            store = self.state_store
            reasons.append(f"state store: {store.message}; fix: {store.fix}")
        if self.chain_error:
            fix = f"; fix: {self.chain_fix}" if self.chain_fix else ""
            reasons.append(f"model chain: {self.chain_error}{fix}")
        if self.gateway and self.gateway.get("running") and not self.gateway.get("configCurrent"):
            reasons.append("the running gateway does not use the current config")
        return reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "vaultKey": {"source": self.vault_key, "error": self.vault_key_error},
            "profiles": json_value(self.profiles),
            "chain": json_value(self.chain),
            "chainError": self.chain_error,
            "chainFix": self.chain_fix,
            "gateway": self.gateway,
            "stateStore": self.state_store.to_json() if self.state_store else None,
            "attention": self.attention,
        }


def collect_status(
    settings: Settings,
    vault: Vault,
    state: State | None,
    clock: Clock,
    *,
    config: str | None = None,
) -> StatusReport:
    try:
        return _collect(settings, vault, state, clock, config=config)
    except StoreUnavailable as exc:  # the vault on PostgreSQL, and the database away
        return StatusReport(
            config=config,
            vault_key=None,
            vault_key_error=None,
            profiles=[],
            chain=[],
            chain_error=f"the vault cannot be read: {exc.message}",
            chain_fix=exc.fix,
        )


def _collect(
    settings: Settings,
    vault: Vault,
    state: State | None,
    clock: Clock,
    *,
    config: str | None = None,
) -> StatusReport:
    try:
        key_source: str | None = vault.keys.resolve(create=False).source.value
        key_error = None
    except KeyUnavailable as exc:
        key_source = None
        # An empty vault has no key yet, and needs none.
        key_error = exc.message if vault.profile_ids() else None
    health = Health(state.health if state else None, clock)
    last_used = state.usage.last_used() if state else {}
    last_tried = state.decisions.last_tried() if state else {}
    probes = state.probes.latest() if state else {}
    reports: dict[str, ProfileReport] = {}
    # The chain is planned over the profiles decrypted here: each is read once.
    profiles = VaultProfiles(vault, settings)
    configured = settings.auth.profiles
    for profile_id in sorted(set(vault.profile_ids()) | set(configured)):
        meta = configured.get(profile_id)
        report, stored = _profile(vault, profile_id, meta, clock)
        if stored is not None:
            profiles.held.hold(stored)
        report.health = [
            Mark(m.kind, m.model, m.until, m.reason)
            for m in health.active(profile_id, _generation(vault, profile_id))
        ]
        report.last_used, report.last_result = _last_use(
            last_used.get(profile_id), last_tried.get(profile_id)
        )
        probe = probes.get(profile_id)
        report.last_probe = {**probe.result, "at": probe.at} if probe else None
        reports[profile_id] = report
    chain, chain_error = _chain(settings, profiles, reports)
    return StatusReport(
        config=config,
        vault_key=key_source,
        vault_key_error=key_error,
        profiles=list(reports.values()),
        chain=chain,
        chain_error=chain_error.message if chain_error else None,
        chain_fix=chain_error.fix if chain_error else None,
    )


def _profile(
    vault: Vault, profile_id: str, meta: ProfileMeta | None, clock: Clock
) -> tuple[ProfileReport, StoredProfile | None]:
    view, stored = view_profile(vault, profile_id, meta)  # the state `auth list` shows too
    report = ProfileReport(
        profile_id,
        view.provider,
        view.kind,
        view.billing,
        view.state,
        detail=view.detail if view.state != "ok" else None,
        fix=view.fix,
    )
    if stored is not None:
        report.expires_at = material_expiry(stored.material)
        if report.expires_at is not None:
            report.valid_for = report.expires_at - clock.now()
        report.grant = _grant(stored.material, stored.status)
    return report, stored


def _last_use(
    answered: float | None, tried: tuple[float, str] | None
) -> tuple[float | None, str | None]:
    """The newest of its last answer (usage, at the end of a turn) and its last attempt
    (decisions, at the turn's start; failed ones too)."""
    if tried is None:
        return answered, "succeeded" if answered is not None else None
    at, result = tried
    if answered is not None and answered >= at:
        return answered, "succeeded"
    return at, result


def _generation(vault: Vault, profile_id: str) -> int | None:
    try:
        return vault.generation(profile_id)
    except BadProfileId:  # a config key no file can be named after: nothing stored
        return None


def _grant(material: object, status: ProfileStatus) -> Grant:
    if not isinstance(material, OAuthMaterial) or material.refresh is None:
        return Grant("none")
    if status.state == "needs_login":
        return Grant("dead", status.since, status.message)
    if status.failing:
        return Grant("failing", status.since, f"{status.last_error}: {status.message}")
    if status.refreshed_at is not None:
        return Grant("ok", status.refreshed_at)
    return Grant("untested")


def _chain(
    settings: Settings, profiles: VaultProfiles, reports: dict[str, ProfileReport]
) -> tuple[list[ChainEntry], RoutingError | None]:
    try:
        route = plan(settings, profiles=profiles)
    except RoutingError as exc:
        return [], exc
    options = settings.agents.defaults.models
    entries: dict[str, ChainEntry] = {}
    for step in route.steps:
        c: Candidate = step.candidate if isinstance(step, Skip) else step
        entry = entries.get(c.ref)
        if entry is None:
            opts = options.get(c.ref)
            entry = ChainEntry(
                c.ref,
                "primary" if not entries else "fallback",
                opts.alias if opts else None,
                c.context,
                [],
            )
            entries[c.ref] = entry
        if isinstance(step, Skip):
            entry.steps.append(
                {"profile": c.profile, "decision": step.decision, "reason": step.reason}
            )
        else:
            entry.steps.append({"profile": c.profile, "decision": "candidate", "reason": None})
        if c.profile in reports and c.ref not in reports[c.profile].used_by:
            reports[c.profile].used_by.append(c.ref)
    return list(entries.values()), None

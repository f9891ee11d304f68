"""Health per candidate (ROUTING.md): cooldowns per (profile, model), blocks per profile or
(profile, model), and a circuit breaker per (provider, model, profile).

Every mark is a row in ``state.db`` (it survives a restart; on PostgreSQL, replicas share
the rows and each turn reads them, `Health.sync`) and remembers the profile's
material generation: a new login or a new key outdates it, which is how a login clears it.

Marks per model are kept only for the models the config names (`named_refs`): a request may
name any ``provider/model``, and health keyed by refs a caller chose would grow with every
new one (in memory and in ``state.db``). A failure of a model the config does not name still
marks its profile (quota, billing, a dead login); its own cooldown or circuit is not kept, so
the next request that names it is simply tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from clawgate.catalog import facts
from clawgate.clock import Clock
from clawgate.config import Settings
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.routing._chain import Candidate
from clawgate.routing._policy import Rule
from clawgate.state import HealthMark, HealthStore

__all__ = ["Blocked", "Health", "mark_json", "mark_state", "matches", "named_refs"]

HOUR = 3600.0
FOREVER = 1e18  # until the material changes
RATE_LIMIT_BACKOFF = (30.0, 60.0, 300.0)
SHORT_COOLDOWN = 60.0
ENTITLEMENT_BLOCK = 24 * HOUR
BILLING_BLOCKS = (5 * HOUR, 24 * HOUR)
QUOTA_UNKNOWN_RESET = HOUR
CIRCUIT_THRESHOLD = 3
CIRCUIT_WINDOW, CIRCUIT_MAX = 30.0, 300.0


@dataclass(frozen=True)
class Blocked:
    decision: Literal["skip_cooldown", "skip_needs_login"]
    reason: str  # the failure class that set the mark, or circuit_open
    until: float


def _keys(c: Candidate) -> dict[str, str]:
    return {
        "block_profile": f"block|{c.profile}",
        "block_model": f"block|{c.profile}|{c.ref}",
        "cooldown": f"cooldown|{c.profile}|{c.ref}",
        "circuit": f"circuit|{c.profile}|{c.ref}",
    }


def named_refs(settings: Settings) -> frozenset[str]:
    """Every model ref the config names: the chains (as written, aliases too), the model
    options' keys, and, for each provider configured or in a chain, its configured models
    and the catalog's defaults."""
    defaults = settings.agents.defaults
    chains = [defaults.model, *([defaults.embeddings] if defaults.embeddings else [])]
    refs = {ref for chain in chains for ref in (chain.primary, *chain.fallbacks)}
    refs.update(defaults.models)
    configured = settings.models.providers
    for name in {*configured, *(ref.partition("/")[0] for ref in refs)}:
        provider = configured.get(name)
        known = facts(name, provider)
        ids = [m.id for m in provider.models] if provider else []
        ids += [*known.default_models, *(m for m, _ in known.embedding_models)]
        refs.update(f"{name}/{model}" for model in ids)
    return frozenset(refs)


class Health:
    """``remembers`` says which refs may have marks of their own (`named_refs`); every ref
    when not given."""

    def __init__(
        self,
        store: HealthStore | None,
        clock: Clock,
        *,
        remembers: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.remembers = remembers or (lambda ref: True)
        self.marks = {m.key: m for m in store.all()} if store else {}
        # Half-open circuits whose one probe is in flight: every turn of this process shares
        # them, so concurrent turns send one probe, not one each (ROUTING.md, circuit breaker).
        self.probing: set[str] = set()
        # Marks an older version kept for refs the config does not name go now.
        for key, mark in list(self.marks.items()):
            if mark.model is not None and not self.remembers(mark.model):
                self._drop(key)

    # Reading ------------------------------------------------------------------------------

    def sync(self) -> None:
        """Before a turn's checks: when another process may have written marks (replicas on
        PostgreSQL, workers or the CLI on one state.db), read every mark again, so a cooldown
        or circuit one recorded is honoured by the next turn of any (docs/architecture.md,
        "State backends"). One small SELECT; a NOTIFY would be asynchronous, and a turn that
        began before its listener woke would miss the mark."""
        if self.store is not None and self.store.changed_elsewhere():
            self.marks = {m.key: m for m in self.store.all()}

    def check(self, c: Candidate, generation: int | None) -> Blocked | None:
        now = self.clock.now()
        for name, key in _keys(c).items():
            mark = self.marks.get(key)
            if mark is None:
                continue
            if _outdated(mark, generation):
                self._drop(key)
                continue
            if name == "circuit":
                if mark.failures >= CIRCUIT_THRESHOLD and now < mark.until:
                    return Blocked("skip_cooldown", "circuit_open", mark.until)
                continue  # closed, or half-open: one probe may go
            if now < mark.until:
                dead = mark.reason == F.AUTH_DEAD.value
                return Blocked(
                    "skip_needs_login" if dead else "skip_cooldown", mark.reason, mark.until
                )
        return None

    def active(self, profile: str, generation: int | None) -> list[HealthMark]:
        """The marks that would make a turn skip ``profile`` now (read only: for status)."""
        now = self.clock.now()
        return [
            m
            for m in self.marks.values()
            if m.profile == profile
            and now < m.until
            and not _outdated(m, generation)
            and (m.kind != "circuit" or m.failures >= CIRCUIT_THRESHOLD)
        ]

    def circuit(self, c: Candidate) -> str:
        """closed, open or half_open."""
        mark = self.marks.get(_keys(c)["circuit"])
        if mark is None or mark.failures < CIRCUIT_THRESHOLD:
            return "closed"
        return "open" if self.clock.now() < mark.until else "half_open"

    def quota_blocked(self, profile: str) -> bool:
        """Whether a ``quota`` block of the whole profile is in force (it may be stale)."""
        mark = self.marks.get(f"block|{profile}")
        return mark is not None and mark.reason == F.QUOTA.value and self.clock.now() < mark.until

    def quota_reset(self, profile: str, resets_at: float) -> None:
        """The usage endpoint says the profile's quota resets at ``resets_at``: its quota
        block ends then, when that is earlier than the end it was given."""
        mark = self.marks.get(f"block|{profile}")
        if mark is None or mark.reason != F.QUOTA.value or mark.until <= resets_at:
            return
        if resets_at <= self.clock.now():
            self._drop(mark.key)
            return
        self.marks[mark.key] = lifted = replace(mark, until=resets_at, updated_at=self.clock.now())
        if self.store:
            self.store.put(lifted)

    def claim_probe(self, c: Candidate) -> bool:
        """The right to send the one probe of ``c``'s half-open circuit; False while another
        turn holds it. `release_probe` gives it back when the attempt ends."""
        key = _keys(c)["circuit"]
        if key in self.probing:
            return False
        self.probing.add(key)
        return True

    def release_probe(self, c: Candidate) -> None:
        self.probing.discard(_keys(c)["circuit"])

    # Writing ------------------------------------------------------------------------------

    def reset(self, *, profile: str | None, model: str | None) -> list[HealthMark]:
        """Drop the marks `matches` selects (`clawgate models health reset`); the dropped."""
        self.sync()  # another replica's marks too
        dropped = [m for m in self.marks.values() if matches(m, profile=profile, model=model)]
        for mark in dropped:
            self._drop(mark.key)
        return dropped

    def succeeded(self, c: Candidate) -> None:
        keys = _keys(c)
        self._drop(keys["cooldown"])
        self._drop(keys["circuit"])

    def failed(self, c: Candidate, error: Failure, rule: Rule, generation: int | None) -> None:
        per_model = rule.effect in ("cooldown", "short_cooldown", "block_model", "circuit")
        if per_model and not self.remembers(c.ref):
            return  # a model the config does not name has no marks of its own
        now = self.clock.now()
        keys = _keys(c)
        reason = error.kind.value
        if rule.effect == "cooldown":
            previous = self.marks.get(keys["cooldown"])
            count = previous.failures + 1 if previous else 1
            wait = error.retry_after
            if wait is None:
                wait = RATE_LIMIT_BACKOFF[min(count, len(RATE_LIMIT_BACKOFF)) - 1]
            self._put(keys["cooldown"], "cooldown", c, generation, now + wait, count, reason)
        elif rule.effect == "short_cooldown":
            self._put(keys["cooldown"], "cooldown", c, generation, now + SHORT_COOLDOWN, 1, reason)
        elif rule.effect == "block_profile":
            previous = self.marks.get(keys["block_profile"])
            count = previous.failures + 1 if previous else 1
            if error.kind is F.QUOTA:
                until = error.resets_at if error.resets_at and error.resets_at > now else None
                if until is None and error.retry_after is not None:
                    until = now + error.retry_after
                until = until or now + QUOTA_UNKNOWN_RESET
            else:
                until = now + BILLING_BLOCKS[min(count, len(BILLING_BLOCKS)) - 1]
            self._put(
                keys["block_profile"], "block", c, generation, until, count, reason, model=None
            )
        elif rule.effect == "block_model":
            self._put(
                keys["block_model"], "block", c, generation, now + ENTITLEMENT_BLOCK, 1, reason
            )
        elif rule.effect == "needs_login":
            self._put(keys["block_profile"], "block", c, generation, FOREVER, 1, reason, model=None)
        elif rule.effect == "circuit":
            previous = self.marks.get(keys["circuit"])
            count = previous.failures + 1 if previous else 1
            window = previous.window if previous else 0.0
            until = previous.until if previous else 0.0
            if count >= CIRCUIT_THRESHOLD:
                # Opens, or re-opens after a failed half-open probe with twice the window.
                window = CIRCUIT_WINDOW if window == 0 else min(window * 2, CIRCUIT_MAX)
                until = now + window
            self._put(
                keys["circuit"], "circuit", c, generation, until, count, reason, window=window
            )

    def _put(
        self,
        key: str,
        kind: str,
        c: Candidate,
        generation: int | None,
        until: float,
        failures: int,
        reason: str,
        *,
        model: str | Literal[False] | None = False,
        window: float = 0.0,
    ) -> None:
        mark = HealthMark(
            key=key,
            kind=kind,
            profile=c.profile,
            model=c.ref if model is False else model,
            generation=generation,
            until=until,
            failures=failures,
            window=window,
            reason=reason,
            updated_at=self.clock.now(),
        )
        self.marks[key] = mark
        if self.store:
            self.store.put(mark)

    def _drop(self, key: str) -> None:
        if self.marks.pop(key, None) is not None and self.store:
            self.store.delete(key)


def matches(mark: HealthMark, *, profile: str | None, model: str | None) -> bool:
    """Whether a reset naming ``profile`` and/or ``model`` clears ``mark``: a profile alone
    names all its marks, a model alone its marks on every profile, both the marks of that
    (profile, model) only (a block of the whole profile is not one of them)."""
    return (profile is None or mark.profile == profile) and (model is None or mark.model == model)


def mark_state(mark: HealthMark, now: float) -> str:
    """What ``mark`` does now: ``active`` or ``expired`` (a cooldown or block); ``open``,
    ``half_open`` or ``counting`` (a circuit, by its failures since the last success)."""
    if mark.kind == "circuit":
        if mark.failures < CIRCUIT_THRESHOLD:
            return "counting"
        return "open" if now < mark.until else "half_open"
    return "active" if now < mark.until else "expired"


def mark_json(mark: HealthMark, now: float) -> dict[str, object]:
    """A mark as `clawgate models health --json` and the control API show it; ``until`` is
    None for a block that lasts until a new login."""
    return {
        "kind": mark.kind,
        "profile": mark.profile,
        "model": mark.model,
        "reason": mark.reason,
        "state": mark_state(mark, now),
        "until": None if mark.until >= FOREVER else mark.until,
        "failures": mark.failures,
    }


def _outdated(mark: HealthMark, generation: int | None) -> bool:
    return mark.generation is not None and generation is not None and generation > mark.generation

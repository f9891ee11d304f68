"""Usage windows for routing (docs/routing.md, "Quota-aware choice"): before a turn, the
windows of the profiles it may use are read where they feed a decision, at most every
`WINDOWS_EVERY` seconds per profile, and again after a quota answer:

- under ``auth.strategy`` ``least-used``, every profile of the pool (the one with the most
  headroom goes first, `routing.Pools`);
- a profile blocked for ``quota``: its block lifts at the reset the usage endpoint reports,
  when that is earlier than the one guessed (`routing.Health.quota_reset`).

A read that fails leaves the windows unknown and is not retried before `WINDOWS_EVERY`; only
providers that report windows (the ChatGPT subscription's ``/wham/usage``) answer at all."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from clawgate.auth import Access, Broker
from clawgate.clock import Clock
from clawgate.errors import Failed
from clawgate.providers import ProviderSource, UsageWindows
from clawgate.routing import Candidate, Health, Pools
from clawgate.state import AttemptRecord

__all__ = [
    "WINDOWS_EVERY",
    "WINDOWS_TIMEOUT",
    "after",
    "read_windows",
    "reported_reset",
    "wanted",
]

log = logging.getLogger("clawgate.routing")

WINDOWS_EVERY = 300.0  # seconds between two reads of one profile's windows
WINDOWS_TIMEOUT = 5.0  # a read may hold up a turn this long at most


def reported_reset(windows: UsageWindows, now: float) -> float | None:
    """When the account may be used again, by its windows: now when no window is used up;
    else the latest reset of those that are; None when they do not say."""
    full = [w for w in (windows.primary, windows.secondary) if w and w.used_percent >= 100]
    if not full and not windows.limit_reached:
        return now
    resets = [w.resets_at for w in full if w.resets_at is not None]
    return max(resets) if resets else None


def wanted(pools: Pools, health: Health) -> bool:
    """Whether any windows may be worth reading before a turn (cheap: no plan needed)."""
    least_used = "least-used" in pools.settings.auth.strategy.values()
    return least_used or any(health.quota_blocked(m.profile) for m in health.marks.values())


def after(pools: Pools, attempts: Iterable[AttemptRecord]) -> None:
    """A quota answer makes the profile's windows stale."""
    for a in attempts:
        if a.reason == "quota":
            pools.forget(a.profile)


async def read_windows(
    candidates: Iterable[Candidate],
    *,
    providers: ProviderSource,
    broker: Broker | None,
    pools: Pools,
    health: Health,
    clock: Clock,
) -> None:
    """Read the windows of the ``candidates``' profiles that need it now (see above)."""
    if broker is None:
        return
    wanted: dict[str, str] = {}  # profile → provider
    for c in candidates:
        least_used = pools.strategy(c.provider) == "least-used"
        if (least_used or health.quota_blocked(c.profile)) and pools.due(
            c.profile, clock.now(), WINDOWS_EVERY
        ):
            wanted.setdefault(c.profile, c.provider)
    for profile, provider in wanted.items():
        pools.tried(profile, clock.now())
        try:
            async with asyncio.timeout(WINDOWS_TIMEOUT):
                windows = await providers.get(provider).usage_windows(Access(broker, profile))
        except (Failed, TimeoutError, ValueError) as exc:
            log.info("usage windows of %s not read: %s", profile, exc)
            continue
        if windows is None:
            continue
        now = clock.now()
        pools.observe(profile, windows, now)
        reset = reported_reset(windows, now)
        if reset is not None:
            health.quota_reset(profile, reset)

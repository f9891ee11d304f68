"""Account pools (docs/routing.md, "Account pools"): how a provider's profiles share turns
under ``auth.strategy.<provider>``, and which profile a conversation sticks to.

A pool is the provider's profiles of the billing kind of its first one, in their configured
order (the subscriptions, say); profiles after them (a metered key ordered last) stay after
them, so a strategy never makes a turn start on a paid profile. The strategies:

- ``ordered`` (default) and ``fill-first``: the first profile until it is limited (a cooldown
  or block skips it), then the next; back to the first when its mark ends.
- ``round-robin``: each new conversation starts on the next profile.
- ``least-used``: the profile with the most headroom first: the lowest share used of the
  provider's usage windows (`observe`) when every profile has them, else the fewest tokens
  answered recently.

Under ``round-robin`` and ``least-used`` a conversation (`conversation_key`) sticks to the
profile that last served it, so the provider's prompt cache for it is reused; when that
profile is skipped (limited, dead) the turn goes on down the pool and the conversation sticks
to the one that answered. Affinity lives in this process only (a bounded map).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from clawgate.config import Settings
from clawgate.providers import UsageWindows
from clawgate.routing._chain import ProfileInfo, ProfileSource

__all__ = ["PooledProfiles", "Pools", "headroom_order"]

MAX_CONVERSATIONS = 10_000  # remembered per process; the oldest go first
STICKY = ("round-robin", "least-used")


@dataclass(frozen=True)
class _Windows:
    used: float  # the highest share used of any window, 0-100
    at: float  # when they were read


class Pools:
    """One per runtime: the round-robin positions, the conversations' profiles, and the
    usage windows read for ``least-used``. ``recent_tokens`` gives each profile's tokens
    answered lately (state.db); none without a state."""

    def __init__(
        self,
        settings: Settings,
        *,
        recent_tokens: Callable[[], Mapping[str, int]] | None = None,
    ) -> None:
        self.settings = settings
        self.recent_tokens = recent_tokens or dict
        self.next: dict[str, int] = {}  # provider → where the next conversation starts
        self.sticks: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.windows: dict[str, _Windows] = {}  # profile → its last usage windows
        self.reads: dict[str, float] = {}  # profile → when its windows were last asked for

    def strategy(self, provider: str) -> str:
        return self.settings.auth.strategy.get(provider, "ordered")

    def order(
        self, provider: str, infos: list[ProfileInfo], conversation: str | None, *, advance: bool
    ) -> list[ProfileInfo]:
        """``infos`` in the order this conversation's turn tries them; ``advance`` moves the
        round-robin on (a turn, not a look at the plan)."""
        strategy = self.strategy(provider)
        if strategy in ("ordered", "fill-first") or len(infos) < 2:
            return infos
        size = next((i for i, p in enumerate(infos) if p.billing != infos[0].billing), len(infos))
        pool, rest = infos[:size], infos[size:]
        stuck = self.sticks.get((conversation, provider)) if conversation else None
        if stuck is not None and any(p.profile_id == stuck for p in pool):
            first = [p for p in pool if p.profile_id == stuck]
            return [*first, *(p for p in pool if p.profile_id != stuck), *rest]
        if strategy == "round-robin":
            start = self.next.get(provider, 0) % len(pool)
            if advance:
                self.next[provider] = start + 1
            return [*pool[start:], *pool[:start], *rest]
        return [*headroom_order(pool, self._loads(pool)), *rest]

    def _loads(self, pool: list[ProfileInfo]) -> dict[str, float]:
        windows = [self.windows.get(p.profile_id) for p in pool]
        if all(w is not None for w in windows):
            return {p.profile_id: w.used for p, w in zip(pool, windows, strict=True) if w}
        tokens = self.recent_tokens()
        return {p.profile_id: float(tokens.get(p.profile_id, 0)) for p in pool}

    def served(self, conversation: str | None, provider: str, profile: str) -> None:
        """The conversation's turn was answered by ``profile``: its next turn starts there."""
        if conversation is None or self.strategy(provider) not in STICKY:
            return
        key = (conversation, provider)
        self.sticks[key] = profile
        self.sticks.move_to_end(key)
        while len(self.sticks) > MAX_CONVERSATIONS:
            self.sticks.popitem(last=False)

    def observe(self, profile: str, windows: UsageWindows, at: float) -> None:
        """The profile's usage windows as the provider reported them."""
        shares = [w.used_percent for w in (windows.primary, windows.secondary) if w]
        used = 100.0 if windows.limit_reached else float(max(shares, default=0))
        self.windows[profile] = _Windows(used, at)

    def tried(self, profile: str, at: float) -> None:
        """A read of the profile's windows starts (it may fail: not again before long)."""
        self.reads[profile] = at

    def due(self, profile: str, now: float, every: float) -> bool:
        """Whether the profile's windows are worth reading again."""
        last = self.reads.get(profile)
        return last is None or now - last >= every

    def forget(self, profile: str) -> None:
        """A quota answer: the windows are stale; read them before the next choice."""
        self.reads.pop(profile, None)
        self.windows.pop(profile, None)


def headroom_order(pool: list[ProfileInfo], loads: Mapping[str, float]) -> list[ProfileInfo]:
    """The least loaded first; equal loads keep the configured order."""
    return sorted(pool, key=lambda p: loads.get(p.profile_id, 0.0))


class PooledProfiles:
    """One turn's view of a `ProfileSource`: each provider's profiles in the pool's order for
    the conversation, worked out once per provider (a chain may name a provider twice)."""

    def __init__(
        self,
        source: ProfileSource,
        pools: Pools,
        conversation: str | None,
        *,
        advance: bool,
    ) -> None:
        self.source = source
        self.pools = pools
        self.conversation = conversation
        self.advance = advance
        self.seen: dict[str, list[ProfileInfo]] = {}

    def profiles(self, provider: str) -> list[ProfileInfo]:
        if provider not in self.seen:
            infos = self.source.profiles(provider)
            self.seen[provider] = self.pools.order(
                provider, infos, self.conversation, advance=self.advance
            )
        return self.seen[provider]

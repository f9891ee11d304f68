"""The deadlines of one attempt (docs/routing.md, "Timeouts"): the first token within
``firstToken`` of sending, then no gap longer than ``idle``, all within ``total``.

Connecting has its own limit on the httpx client. These deadlines wrap each read, never the
caller's time between events: a slow consumer is not a stalled provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from clawgate.config import Timeouts
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass, TimeoutPhase

T = TypeVar("T")

__all__ = ["Deadlines"]


class Deadlines:
    def __init__(
        self, timeouts: Timeouts, *, provider: str, now: Callable[[], float] | None = None
    ) -> None:
        self.timeouts = timeouts
        self.provider = provider
        self._now = now or asyncio.get_running_loop().time
        self.started = self._now()
        self.last = self.started
        self.first_token_at: float | None = None

    def content(self) -> None:
        """Content reached the caller: from now on the stall limit applies."""
        if self.first_token_at is None:
            self.first_token_at = self._now()

    def _next(self) -> tuple[float, TimeoutPhase, float]:
        t = self.timeouts
        total = self.started + t.total
        phase: TimeoutPhase
        if self.first_token_at is None:
            when, phase, limit = self.started + t.first_token, "first_token", t.first_token
        else:
            when, phase, limit = self.last + t.idle, "idle", t.idle
        if total <= when:
            return total, "total", t.total
        return when, phase, limit

    async def wait(self, step: Awaitable[T]) -> T:
        """Await one read under the deadline that applies now."""
        when, phase, limit = self._next()
        try:
            async with asyncio.timeout_at(when):
                value = await step
        except TimeoutError:
            raise Failed(
                Failure(
                    FailureClass.TIMEOUT,
                    f"{self.provider}: {_WHAT[phase]} within {limit:g} s",
                    fix=f"raise models.providers.{self.provider}.timeouts.{_KEY[phase]} if the "
                    "model is just slow",
                    phase=phase,
                )
            ) from None
        self.last = self._now()
        return value


_WHAT: dict[TimeoutPhase, str] = {
    "connect": "could not connect",
    "first_token": "no first token",
    "idle": "the answer stalled: nothing more",
    "total": "the answer did not finish",
}
_KEY: dict[TimeoutPhase, str] = {
    "connect": "connect",
    "first_token": "firstToken",
    "idle": "idle",
    "total": "total",
}

"""One turn's walk down its plan (ROUTING.md): skip what health or policy rules out, attempt
the rest in order, act on each failure by its class, stop at the budgets, and record every
step.

Streaming (ROUTING.md, "Streaming"): until content reaches the caller a failure moves on
unseen. After that, a broken answer is never passed off as complete: a caller that can take a
replacement gets a `Restart` and the next candidate's whole answer (never a continuation of
the cut one, so no assistant prefill is ever sent); any other caller gets `RouteFailed` with
``partial=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, replace

from clawgate.auth import Broker
from clawgate.clock import Clock
from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass
from clawgate.providers import (
    Access,
    Completed,
    ModelRequest,
    ProviderError,
    ProviderSource,
    TextDelta,
)
from clawgate.routing._chain import Candidate, Plan, Skip
from clawgate.routing._health import Blocked, Health
from clawgate.routing._policy import Rule, rule_for
from clawgate.state import AttemptRecord
from clawgate.vault import Vault

__all__ = ["Answered", "Budget", "Restart", "RouteEvent", "RouteFailed", "Router", "Streaming"]

log = logging.getLogger("clawgate.routing")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Budget:
    attempts: int = 6  # requests per turn, retries included
    retries: int = 1  # extra tries of the same candidate
    seconds: float = 600.0  # the whole turn, waits included
    retry_wait: float = 10.0  # longest Retry-After worth waiting for on the same candidate
    backoff: float = 1.0  # base of the jittered wait before retrying a failing server


@dataclass(frozen=True)
class Restart:
    """What the caller was shown is void; the next candidate's answer follows in full."""

    reason: str


@dataclass(frozen=True)
class Streaming:
    """The first text of this candidate's answer follows: who is answering, before the text."""

    candidate: Candidate
    fallback: bool


@dataclass(frozen=True)
class Answered:
    candidate: Candidate
    completed: Completed
    text: str
    fallback: bool  # not the plan's first candidate
    records: tuple[AttemptRecord, ...]


RouteEvent = Streaming | TextDelta | Restart | Answered


class RouteFailed(ClawgateError):
    def __init__(
        self,
        message: str,
        *,
        failure: FailureClass,
        records: tuple[AttemptRecord, ...],
        fix: str | None = None,
        partial: bool = False,
    ) -> None:
        super().__init__(message, fix=fix)
        self.failure = failure
        self.records = records
        self.partial = partial  # content was sent before it broke

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.failure.value


class _Walk:
    """The mutable state of one walk."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.records: list[AttemptRecord] = []
        self.attempts = 0
        self.last: ProviderError | None = None
        self.closed_models: dict[str, str] = {}  # ref → the class that closed it
        self.context_floor: int | None = None  # after an overflow: need more than this
        self.overflowed = False
        self.stopped: ProviderError | None = None

    def record(self, c: Candidate, decision: str, **fields: object) -> None:
        self.records.append(AttemptRecord(c.ref, c.profile, decision, **fields))  # type: ignore[arg-type]

    def excluded(self, c: Candidate) -> str | None:
        if c.ref in self.closed_models:
            return self.closed_models[c.ref]
        if self.overflowed and not (
            c.context is not None and (self.context_floor is None or c.context > self.context_floor)
        ):
            return FailureClass.CONTEXT_OVERFLOW.value
        return None


class Router:
    def __init__(
        self,
        providers: ProviderSource,
        health: Health,
        *,
        clock: Clock,
        broker: Broker | None = None,
        vault: Vault | None = None,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.providers = providers
        self.health = health
        self.clock = clock
        self.broker = broker
        self.vault = vault
        self.sleep = sleep
        self.budget = budget or Budget()
        self.jitter = jitter

    def _generation(self, c: Candidate) -> int | None:
        return self.vault.generation(c.profile) if self.vault else None

    def _access(self, c: Candidate, generation: int | None) -> Access | None:
        if self.broker is None or generation is None:
            return None  # no stored profile: a provider that needs no credential
        self.broker.observe(c.profile, generation)  # a login made elsewhere counts now
        return Access(self.broker, c.profile)

    async def route(
        self,
        plan: Plan,
        build: Callable[[Candidate], ModelRequest],
        *,
        restartable: bool = False,
    ) -> AsyncGenerator[RouteEvent, None]:
        walk = _Walk(plan)
        started = self.clock.monotonic()
        first = plan.steps[0].candidate if isinstance(plan.steps[0], Skip) else plan.steps[0]
        generations = {c: self._generation(c) for c in plan.candidates}
        verdicts = {c: self.health.check(c, generations[c]) for c in plan.candidates}
        probe = _half_open(verdicts)
        try:
            for step in plan.steps:
                if isinstance(step, Skip):
                    walk.record(
                        step.candidate, step.decision, reason=step.reason, message=step.message
                    )
                    continue
                c = step
                if walk.stopped is not None:
                    break
                why = walk.excluded(c)
                if why is not None:
                    walk.record(c, "skip_policy", reason=why)
                    continue
                verdict = verdicts[c]
                if verdict is not None and c != probe:
                    walk.record(c, verdict.decision, reason=verdict.reason)
                    continue
                if self._out_of_budget(walk, started):
                    break
                attempt = self._candidate(walk, c, generations[c], build, restartable)
                async with contextlib.aclosing(attempt):
                    async for event in attempt:
                        if isinstance(event, Streaming):
                            yield replace(event, fallback=c != first)
                        elif isinstance(event, Answered):
                            answered = replace(event, fallback=c != first, records=_linked(walk))
                            _log(plan, answered.records)
                            yield answered
                            return
                        else:
                            yield event
        except RouteFailed:
            _log(plan, _linked(walk))
            raise
        records = _linked(walk)
        _log(plan, records)
        raise _failed(walk, records)

    def _out_of_budget(self, walk: _Walk, started: float) -> bool:
        return (
            walk.attempts >= self.budget.attempts
            or self.clock.monotonic() - started >= self.budget.seconds
        )

    async def _candidate(
        self,
        walk: _Walk,
        c: Candidate,
        generation: int | None,
        build: Callable[[Candidate], ModelRequest],
        restartable: bool,
    ) -> AsyncGenerator[RouteEvent, None]:
        tries = 0
        while True:
            walk.attempts += 1
            begun = self.clock.monotonic()
            first_token: float | None = None
            parts: list[str] = []
            try:
                provider = self.providers.get(c.provider)
                stream = provider.stream(build(c), self._access(c, generation))
                async with contextlib.aclosing(stream):  # closed here, not by the GC later
                    async for event in stream:
                        if isinstance(event, TextDelta):
                            if first_token is None:
                                first_token = self.clock.monotonic() - begun
                                yield Streaming(c, False)
                            parts.append(event.text)
                            yield event
                        elif isinstance(event, Completed):
                            self.health.succeeded(c)
                            walk.record(
                                c,
                                "succeeded",
                                first_token_ms=_ms(first_token),
                                end_ms=_ms(self.clock.monotonic() - begun),
                            )
                            yield Answered(c, event, "".join(parts), False, ())
                            return
                raise ProviderError(FailureClass.STREAM_BROKEN, "the stream ended unfinished")
            except ProviderError as exc:
                rule = rule_for(exc, started=bool(parts))
                walk.last = exc
                walk.record(
                    c,
                    "failed",
                    reason=exc.failure.value,
                    status=exc.status,
                    code=exc.provider_code,
                    message=exc.message,
                    first_token_ms=_ms(first_token),
                    end_ms=_ms(self.clock.monotonic() - begun),
                )
                self.health.failed(c, exc, rule, generation)
                if parts:
                    if not restartable:
                        raise _broken(walk, c, exc) from None
                    yield Restart(f"{c.ref} broke off its answer: {exc.message}")
                    return
                wait = self._retry_wait(rule, exc, tries)
                # An open circuit (just opened, or a failed half-open probe) takes no retry.
                if self.health.circuit(c) == "open":
                    wait = None
                if wait is None or walk.attempts >= self.budget.attempts:
                    self._after(walk, c, exc, rule)
                    return
                tries += 1
                if wait > 0:
                    await self.sleep(wait)

    def _retry_wait(self, rule: Rule, exc: ProviderError, tries: int) -> float | None:
        """Seconds to wait before trying the same candidate again, or None for no retry."""
        if tries >= self.budget.retries or rule.same == "no":
            return None
        if rule.same == "retry_after":
            if exc.retry_after is None or exc.retry_after > self.budget.retry_wait:
                return None
            return exc.retry_after
        if rule.backoff:
            return self.budget.backoff * (0.5 + self.jitter() / 2)
        return 0.0

    def _after(self, walk: _Walk, c: Candidate, exc: ProviderError, rule: Rule) -> None:
        """What this failure means for the rest of the plan."""
        if not rule.next_profile:
            walk.closed_models[c.ref] = exc.failure.value
        if rule.next_model == "no":
            walk.stopped = exc
        elif rule.next_model == "larger_context":
            walk.overflowed = True
            if c.context is not None:
                walk.context_floor = max(walk.context_floor or 0, c.context)


def _half_open(verdicts: dict[Candidate, Blocked | None]) -> Candidate | None:
    """When every candidate is cooling down, the one that recovers first is tried anyway."""
    if not verdicts or any(v is None for v in verdicts.values()):
        return None
    cooling = [(v.until, c) for c, v in verdicts.items() if v and v.decision == "skip_cooldown"]
    if not cooling:
        return None
    return min(cooling, key=lambda pair: pair[0])[1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _linked(walk: _Walk) -> tuple[AttemptRecord, ...]:
    """Each record names the candidate that came after it."""
    records = walk.records
    return tuple(
        replace(r, next=records[i + 1].candidate if i + 1 < len(records) else None)
        for i, r in enumerate(records)
    )


def _log(plan: Plan, records: tuple[AttemptRecord, ...]) -> None:
    for r in records:
        log.info(
            "decision=%s requested=%s candidate=%s profile=%s reason=%s next=%s",
            r.decision,
            plan.requested or "default",
            r.candidate,
            r.profile,
            r.reason or "-",
            r.next or "-",
        )


def _broken(walk: _Walk, c: Candidate, exc: ProviderError) -> RouteFailed:
    return RouteFailed(
        f"{c.ref} broke off its answer: {exc.message}",
        failure=FailureClass.STREAM_BROKEN,
        records=_linked(walk),
        fix="ask again; the partial answer is incomplete",
        partial=True,
    )


def _failed(walk: _Walk, records: tuple[AttemptRecord, ...]) -> RouteFailed:
    last = walk.stopped or walk.last
    if last is not None:
        tried = "; ".join(
            f"{r.candidate} ({r.profile}): {r.reason}: {r.message}"
            for r in records
            if r.decision == "failed"
        )
        return RouteFailed(
            f"no model could answer. Tried {tried}",
            failure=last.failure,
            records=records,
            fix=last.fix,
        )
    # Nothing was attempted: every candidate was skipped.
    skipped = "; ".join(f"{r.candidate} ({r.profile}): {r.reason}" for r in records)
    needs_login = any(r.decision == "skip_needs_login" for r in records)
    fixes = [s.fix for s in walk.plan.steps if isinstance(s, Skip) and s.fix]
    return RouteFailed(
        f"no candidate could be tried. Skipped {skipped}",
        failure=FailureClass.AUTH_DEAD if needs_login else FailureClass.UNAVAILABLE,
        records=records,
        fix=fixes[0] if fixes else "wait for the cooldowns to pass, or add a fallback model",
    )

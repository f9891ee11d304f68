"""One turn's walk down its plan (ROUTING.md): skip what health or policy rules out, attempt
the rest in order, act on each failure by its class, stop at the budgets, and record every
step.

Streaming (ROUTING.md, "Streaming"): until content reaches the caller a failure moves on
unseen. After that, a broken answer is never passed off as complete: a caller that can take a
replacement gets a `Restart` and the next candidate's whole answer; any other caller gets the
answer resumed (docs/routing.md, "Resumable streams"; `_resume`): the same candidate when the
failure's class allows a retry, else the next, asked to continue from the text sent, whose
continuation is appended without the part it repeats. An answer with tool calls, or a walk
with ``resume`` off or out of candidates, ends in `RouteFailed` with ``partial=True``.

A caller that goes away (its task cancelled, or the turn's event stream closed before the
result) ends the walk where it is: the attempt in flight, whose upstream request is closed on
the way out, is recorded as ``client_gone``, nothing after it is tried, and the record of every
step goes to the caller's ``gone`` callback (the runtime writes the turn as ``client_gone``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace

from clawgate.auth import Access, Broker
from clawgate.clock import Clock
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import (
    Answer,
    Completed,
    Content,
    ModelRequest,
    Phase,
    ProviderSource,
    TextDelta,
    is_content,
)
from clawgate.routing._chain import Candidate, Plan, Skip
from clawgate.routing._events import Answering, Restart, TurnEvent, TurnResult
from clawgate.routing._health import Blocked, Health
from clawgate.routing._policy import Rule, rule_for
from clawgate.routing._resume import Form, Joiner, continuation
from clawgate.state import AttemptRecord

__all__ = ["Budget", "RouteFailed", "Router"]

log = logging.getLogger("clawgate.routing")

Sleep = Callable[[float], Awaitable[None]]
Gone = Callable[[tuple[AttemptRecord, ...]], None]
Timings = Callable[[], dict[str, float | None]]
Prefills = Callable[[Candidate], bool]  # whether a candidate's wire continues a prefill

# What reaches a walk when its caller goes away: the task is cancelled (a non-streamed
# answer's client hung up) or the event stream is closed early (a stream's client did).
CALLER_GONE = (asyncio.CancelledError, GeneratorExit)


@dataclass(frozen=True)
class Budget:
    attempts: int = 6  # requests per turn, retries included
    retries: int = 1  # extra tries of the same candidate
    seconds: float = 600.0  # the whole turn, waits included
    retry_wait: float = 10.0  # longest Retry-After worth waiting for on the same candidate
    backoff: float = 1.0  # base of the jittered wait before retrying a failing server


class RouteFailed(Failed):
    """No candidate answered: the failure that decided it, and the record of every step."""

    def __init__(
        self, failure: Failure, *, attempts: tuple[AttemptRecord, ...], partial: bool = False
    ) -> None:
        super().__init__(failure)
        self.attempts = attempts
        self.partial = partial  # content was sent before it broke


class _Walk:
    """The mutable state of one walk."""

    def __init__(self, plan: Plan, turn_id: str, started: float) -> None:
        self.plan = plan
        self.turn_id = turn_id
        self.started = started
        self.records: list[AttemptRecord] = []
        self.attempts = 0
        self.last: Failure | None = None
        self.closed_models: dict[str, str] = {}  # ref → the class that closed it
        self.context_floor: int | None = None  # after an overflow: need more than this
        self.overflowed = False
        self.stopped: Failure | None = None
        self.inflight: tuple[Candidate, Timings] | None = None  # the attempt not yet recorded
        self.finished = False  # the result was made
        self.probes: set[Candidate] = set()  # half-open circuits whose probe this walk holds
        self.sent = ""  # the answer's text the caller has (every attempt's)
        self.answered = False  # `Answering` went to the caller
        self.resuming = False  # an answer broke after content: the next attempt continues it
        self.no_prefill: set[Candidate] = set()  # refused a prefill: the instruction form
        first = plan.steps[0]
        self.first = first.candidate if isinstance(first, Skip) else first

    def record(self, c: Candidate, decision: str, **fields: object) -> None:
        if self.inflight is not None and self.inflight[0] == c:
            self.inflight = None
        self.records.append(AttemptRecord(c.ref, c.profile, decision, **fields))  # type: ignore[arg-type]

    def failed(self, c: Candidate, exc: Failed, **timings: object) -> Failure:
        """Record ``c``'s attempt as failed with ``exc``'s failure, now the walk's last."""
        self.last = exc.failure
        self.record(
            c,
            "failed",
            reason=exc.failure.kind.value,
            status=exc.failure.status,
            code=exc.failure.code,
            message=exc.message,
            **timings,
        )
        return exc.failure

    def gone(self, then: Gone | None) -> None:
        """The caller went away before the result: the attempt in flight is recorded as
        ``client_gone``, and ``then`` gets the record of every step."""
        if self.finished:
            return
        if self.inflight is not None:
            c, timings = self.inflight
            self.record(c, "client_gone", reason="client_gone", **timings())
        records = _linked(self)
        _log(self.plan, records)
        if then is None:
            return
        try:
            then(records)
        except Exception:  # a record that cannot be written must not replace the cancellation
            log.exception(
                "turn %s: its caller went away and it could not be recorded", self.turn_id
            )

    def excluded(self, c: Candidate) -> str | None:
        if c.ref in self.closed_models:
            return self.closed_models[c.ref]
        if self.overflowed and not (
            c.context is not None and (self.context_floor is None or c.context > self.context_floor)
        ):
            return FailureClass.CONTEXT_OVERFLOW.value
        return None


class _Attempt:
    """One request to one candidate: its phase, its text so far, its timings."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.phase = Phase.NOT_STARTED
        self.answer = Answer()
        self.dropped: tuple[str, ...] = ()
        self.begun = clock.monotonic()
        self.first_token: float | None = None

    def timings(self) -> dict[str, float | None]:
        return {
            "first_token_ms": _ms(self.first_token),
            "end_ms": _ms(self.clock.monotonic() - self.begun),
        }


class Router:
    def __init__(
        self,
        providers: ProviderSource,
        health: Health,
        *,
        clock: Clock,
        broker: Broker | None = None,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
        jitter: Callable[[], float] = random.random,
        resume: bool = False,
        prefills: Prefills | None = None,
    ) -> None:
        self.providers = providers
        self.health = health
        self.clock = clock
        self.broker = broker
        self.sleep = sleep
        self.budget = budget or Budget()
        self.jitter = jitter
        self.resume = resume
        self.prefills = prefills or (lambda c: False)

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
        turn_id: str,
        restartable: bool = False,
        gone: Gone | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        """The turn's events (`Answering`, content, `Restart`, then one `TurnResult`), or
        `RouteFailed`; ``gone`` is called with the records when the caller goes away first."""
        walk = _Walk(plan, turn_id, self.clock.monotonic())
        try:
            for c, generation in self._tryable(walk):
                attempt = self._candidate(walk, c, generation, build, restartable)
                try:
                    async with contextlib.aclosing(attempt):
                        async for event in attempt:
                            yield event
                            if isinstance(event, TurnResult):
                                return
                finally:
                    self._release(walk, c)
        except RouteFailed:
            _log(plan, _linked(walk))
            raise
        except CALLER_GONE:
            walk.gone(gone)
            raise
        records = _linked(walk)
        _log(plan, records)
        failed = _failed(walk, records)
        failed.partial = bool(walk.sent)  # a resumed answer that no candidate could finish
        raise failed

    def _release(self, walk: _Walk, c: Candidate) -> None:
        """Give back the half-open probe ``c`` held, if this walk held it."""
        if c in walk.probes:
            walk.probes.discard(c)
            self.health.release_probe(c)

    def _tryable(self, walk: _Walk) -> Iterator[tuple[Candidate, int | None]]:
        """The plan's candidates worth a request, each with its profile's generation, in
        order; every skip on the way is recorded. Stops when the walk is stopped or out of
        budget (checked before each candidate, after the previous one was tried)."""
        plan = walk.plan
        self.health.sync()  # what other replicas marked counts now
        generations = {
            c: self.broker.generation(c.profile) if self.broker else None for c in plan.candidates
        }
        verdicts = {c: self.health.check(c, generations[c]) for c in plan.candidates}
        probe = _half_open(verdicts)
        for step in plan.steps:
            if isinstance(step, Skip):
                walk.record(step.candidate, step.decision, reason=step.reason, message=step.message)
                continue
            c = step
            if walk.stopped is not None:
                return
            why = walk.excluded(c)
            if why is not None:
                walk.record(c, "skip_policy", reason=why)
                continue
            verdict = verdicts[c]
            if verdict is not None and c != probe:
                walk.record(c, verdict.decision, reason=verdict.reason)
                continue
            if self._out_of_budget(walk, walk.started):
                return
            if self.health.circuit(c) == "half_open":
                if not self.health.claim_probe(c):
                    # Another turn's probe is in flight: its answer decides for this one too.
                    walk.record(c, "skip_cooldown", reason="circuit_half_open")
                    continue
                walk.probes.add(c)
            yield c, generations[c]

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
    ) -> AsyncGenerator[TurnEvent, None]:
        tries = 0
        fallback = c != walk.first
        while True:
            walk.attempts += 1
            attempt = _Attempt(self.clock)
            walk.inflight = (c, attempt.timings)
            resumed_at = len(walk.sent) if walk.resuming else None
            form: Form | None = None
            try:
                provider = self.providers.get(c.provider)
                request = build(c)
                if resumed_at is not None:
                    prefill = self.prefills(c) and c not in walk.no_prefill
                    form = "prefill" if prefill else "instruction"
                    request = continuation(request, walk.sent, form)
                joiner = Joiner(walk.sent) if resumed_at is not None else None
                attempt.dropped = provider.dropped(request)
                stream = provider.stream(request, self._access(c, generation))
                async with contextlib.aclosing(stream):  # closed here, not by the GC later
                    async for event in stream:
                        if is_content(event):
                            if joiner is not None and isinstance(event, TextDelta):
                                event = TextDelta(joiner.feed(event.text))
                                if not event.text:
                                    continue
                            for out in self._content(walk, c, fallback, attempt, event):
                                yield out
                        elif isinstance(event, Completed):
                            if joiner is not None:
                                rest = TextDelta(joiner.flush())
                                if rest.text:
                                    for out in self._content(walk, c, fallback, attempt, rest):
                                        yield out
                            attempt.phase = Phase.FINISHED
                            self.health.succeeded(c)
                            resume = {}
                            if resumed_at is not None:
                                resume = {
                                    "reason": "resumed",
                                    "message": f"continued the answer from character "
                                    f"{resumed_at} ({form})",
                                }
                            walk.record(c, "succeeded", **resume, **attempt.timings())
                            walk.finished = True
                            records = _linked(walk)
                            _log(walk.plan, records)
                            yield _result(walk, c, fallback, attempt, event, records, resumed_at)
                            return
                raise Failed(Failure(FailureClass.STREAM_BROKEN, "the stream ended unfinished"))
            except Failed as exc:
                failure = walk.failed(c, exc, **attempt.timings())
                rule = rule_for(failure, attempt.phase)
                if form == "prefill" and failure.kind is FailureClass.BAD_REQUEST:
                    # This candidate does not take a prefill: the instruction form, once.
                    walk.no_prefill.add(c)
                    if walk.attempts < self.budget.attempts:
                        continue
                self.health.failed(c, failure, rule, generation)
                if attempt.phase is Phase.STREAMING:
                    if restartable:
                        walk.sent, walk.answered = "", False  # the next answer is whole
                        yield Restart(f"{c.ref} broke off its answer: {exc.message}")
                        return
                    if not self.resume or attempt.answer.tool_calls:
                        raise _broken(walk, c, exc) from None
                    walk.resuming = True
                    # The same candidate again when its class allows a retry, else the next.
                    same = rule_for(failure, Phase.NOT_STARTED)
                    if (
                        self._retry_wait(same, failure, tries) is not None
                        and self.health.circuit(c) != "open"
                        and not self._out_of_budget(walk, walk.started)
                    ):
                        tries += 1
                        continue
                    return
                wait = self._retry_wait(rule, failure, tries)
                # An open circuit (just opened, or a failed half-open probe) takes no retry.
                if self.health.circuit(c) == "open":
                    wait = None
                if wait is None or walk.attempts >= self.budget.attempts:
                    self._after(walk, c, failure, rule)
                    return
                tries += 1
                if wait > 0:
                    await self.sleep(wait)

    def _content(
        self, walk: _Walk, c: Candidate, fallback: bool, attempt: _Attempt, event: Content
    ) -> Iterator[TurnEvent]:
        """One content event to the caller, after `Answering` when it is the first."""
        if attempt.phase is Phase.NOT_STARTED:
            attempt.phase = Phase.STREAMING
            attempt.first_token = self.clock.monotonic() - attempt.begun
            if not walk.answered:
                walk.answered = True
                yield Answering(walk.turn_id, c.ref, c.profile, fallback, attempt.dropped)
        attempt.answer.add(event)
        if isinstance(event, TextDelta):
            walk.sent += event.text
        yield event

    def _retry_wait(self, rule: Rule, failure: Failure, tries: int) -> float | None:
        """Seconds to wait before trying the same candidate again, or None for no retry."""
        if tries >= self.budget.retries or rule.same == "no":
            return None
        if rule.same == "retry_after":
            if failure.retry_after is None or failure.retry_after > self.budget.retry_wait:
                return None
            return failure.retry_after
        if rule.backoff:
            return self.budget.backoff * (0.5 + self.jitter() / 2)
        return 0.0

    def _after(self, walk: _Walk, c: Candidate, failure: Failure, rule: Rule) -> None:
        """What this failure means for the rest of the plan."""
        if not rule.next_profile:
            walk.closed_models[c.ref] = failure.kind.value
        if rule.next_model == "no":
            walk.stopped = failure
        elif rule.next_model == "larger_context":
            walk.overflowed = True
            if c.context is not None:
                walk.context_floor = max(walk.context_floor or 0, c.context)


def _result(
    walk: _Walk,
    c: Candidate,
    fallback: bool,
    attempt: _Attempt,
    done: Completed,
    records: tuple[AttemptRecord, ...],
    resumed_at: int | None,
) -> TurnResult:
    return TurnResult(
        turn_id=walk.turn_id,
        model=c.ref,
        profile=c.profile,
        fallback=fallback,
        text=walk.sent if resumed_at is not None else attempt.answer.text,
        resumed_at=resumed_at,
        finish_reason=done.finish_reason,
        usage=done.usage,
        attempts=records,
        reported_model=done.model,
        tool_calls=attempt.answer.tool_calls,
        dropped=attempt.dropped,
    )


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


def _broken(walk: _Walk, c: Candidate, exc: Failed) -> RouteFailed:
    failure = Failure(
        FailureClass.STREAM_BROKEN,
        f"{c.ref} broke off its answer: {exc.message}",
        fix="ask again; the partial answer is incomplete",
    )
    return RouteFailed(failure, attempts=_linked(walk), partial=True)


def _failed(walk: _Walk, records: tuple[AttemptRecord, ...]) -> RouteFailed:
    last = walk.stopped or walk.last
    if last is not None:
        tried = "; ".join(
            f"{r.candidate} ({r.profile}): {r.reason}: {r.message}"
            for r in records
            if r.decision == "failed"
        )
        return RouteFailed(
            replace(last, message=f"no model could answer. Tried {tried}"), attempts=records
        )
    # Nothing was attempted: every candidate was skipped.
    if records and all(r.decision == "skip_capability" for r in records):
        # The request asks for what no model in its chain can do: the caller's to change.
        considered = "; ".join(dict.fromkeys(r.message or r.candidate for r in records))
        failure = Failure(
            FailureClass.BAD_REQUEST,
            f"no model in the chain can take this request: {considered}",
            fix=next((s.fix for s in walk.plan.steps if isinstance(s, Skip) and s.fix), None),
        )
        return RouteFailed(failure, attempts=records)
    skipped = "; ".join(f"{r.candidate} ({r.profile}): {r.reason}" for r in records)
    needs_login = any(r.decision == "skip_needs_login" for r in records)
    fixes = [s.fix for s in walk.plan.steps if isinstance(s, Skip) and s.fix]
    failure = Failure(
        FailureClass.AUTH_DEAD if needs_login else FailureClass.UNAVAILABLE,
        f"no candidate could be tried. Skipped {skipped}",
        fix=fixes[0] if fixes else "wait for the cooldowns to pass, or add a fallback model",
    )
    return RouteFailed(failure, attempts=records)

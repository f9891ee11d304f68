"""An embeddings request's walk: the same candidates, credentials, health, failure table and
decision record as a turn (docs/routing.md), with one more rule: vectors from different models are
never mixed.

The chain (``agents.defaults.embeddings``, or one requested model, strict) is planned by
`plan`, then every candidate must be able to embed (`catalog.embeds`) and must make the
vectors the first one makes: another profile of the first model always does; another model
only when its configured ``dimensions`` equal the first model's (the config saying it is the
same model served elsewhere). The rest stay in the plan as ``skip_capability`` steps (reason
``embeddings`` or ``dimensions``), so the record shows them, and a request that had nothing
else left is told why.

The walk is the router's (`Router`: budgets, retries and their waits, what each failure
closes, the half-open probe) over one JSON call per attempt: there is no content phase, so
every failure is met before content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from clawgate.catalog import dimensions, embeds
from clawgate.clock import Clock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import Embedder, EmbeddingRequest, Embeddings, Phase, Usage
from clawgate.routing._chain import Candidate, Plan, ProfileSource, RoutingError, Skip, plan
from clawgate.routing._policy import rule_for
from clawgate.routing._router import (
    CALLER_GONE,
    Gone,
    RouteFailed,
    Router,
    Timings,
    _failed,
    _linked,
    _log,
    _ms,
    _Walk,
)
from clawgate.state import AttemptRecord

__all__ = [
    "EmbeddingPlan",
    "EmbeddingResult",
    "EmbeddingRouter",
    "EmbeddingsUnconfigured",
    "embedding_plan",
]

CHAIN_KEY = "agents.defaults.embeddings"


class EmbeddingsUnconfigured(RoutingError):
    """The default model was asked for and there is no embeddings chain."""

    code = "model_not_found"


@dataclass(frozen=True)
class EmbeddingPlan:
    plan: Plan
    dimensions: int | None  # the first model's vector length, when known


@dataclass(frozen=True)
class EmbeddingResult:
    """Who made the vectors, the vectors, and every decision on the way."""

    turn_id: str
    model: str  # provider/model that answered
    profile: str
    fallback: bool  # not the plan's first candidate
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage | None
    attempts: tuple[AttemptRecord, ...]
    reported_model: str | None = None  # the model id the provider says it used


def embedding_plan(
    settings: Settings, requested: str | None = None, *, profiles: ProfileSource | None = None
) -> EmbeddingPlan:
    """The candidates for ``requested`` (strict), or for the embeddings chain when None."""
    if requested:
        base = plan(settings, requested, profiles=profiles)
    else:
        chain = settings.agents.defaults.embeddings
        if chain is None:
            raise EmbeddingsUnconfigured(
                f"no embeddings model is configured ({CHAIN_KEY} is null)",
                fix=f"set {CHAIN_KEY}.primary to an embedding model, e.g. "
                '"openai/text-embedding-3-small", or name the model in the request',
            )
        refs = [chain.primary, *chain.fallbacks]
        base = replace(plan(settings, models=refs, profiles=profiles), requested=None)
    first = _candidate(base.steps[0])
    want = _dimensions(settings, first)
    steps = tuple(_vetted(settings, step, first, want) for step in base.steps)
    return EmbeddingPlan(Plan(base.requested, base.strict, steps), want)


def _candidate(step: Candidate | Skip) -> Candidate:
    return step.candidate if isinstance(step, Skip) else step


def _dimensions(settings: Settings, c: Candidate) -> int | None:
    return dimensions(c.provider, c.model, settings.models.providers.get(c.provider))


def _vetted(
    settings: Settings, step: Candidate | Skip, first: Candidate, want: int | None
) -> Candidate | Skip:
    """The step as planned, or a capability skip when it cannot make the first one's vectors."""
    c = _candidate(step)
    if not embeds(c.provider, settings.models.providers.get(c.provider)):
        return Skip(
            c,
            "skip_capability",
            "embeddings",
            f"{c.provider} cannot make embeddings",
            f"put an embedding model in {CHAIN_KEY} (an OpenAI, OpenAI-compatible or local one)",
        )
    have = _dimensions(settings, c)
    if c.ref == first.ref or (want is not None and have == want):
        return step
    size = f"{have}-dimension vectors" if have else "vectors of unknown dimensions"
    return Skip(
        c,
        "skip_capability",
        "dimensions",
        f"{c.ref} makes {size}, {first.ref} "
        + (f"{want}-dimension ones" if want else "ones of unknown dimensions")
        + ": vectors from different models are never mixed",
        f"fall back only to a model with {first.ref}'s dimensions "
        f"(models.providers.<id>.models[].dimensions), or another profile of {first.ref}",
    )


class EmbeddingRouter(Router):
    """The router's rules, for embeddings: `embed` instead of `route`."""

    async def embed(
        self,
        route: EmbeddingPlan,
        build: Callable[[Candidate], EmbeddingRequest],
        *,
        turn_id: str,
        gone: Gone | None = None,
    ) -> EmbeddingResult:
        """The first answer, or `RouteFailed` with the record of every step; ``gone`` is
        called with the records when the caller goes away first (as `Router.route`)."""
        plan = route.plan
        walk = _Walk(plan, turn_id, self.clock.monotonic())
        try:
            for c, generation in self._tryable(walk):
                result = await self._attempt(walk, c, generation, build, route.dimensions)
                if result is not None:
                    return result
        except CALLER_GONE:
            walk.gone(gone)
            raise
        records = _linked(walk)
        _log(plan, records)
        raise _never_mixed(_failed(walk, records), records)

    async def _attempt(
        self,
        walk: _Walk,
        c: Candidate,
        generation: int | None,
        build: Callable[[Candidate], EmbeddingRequest],
        size: int | None,
    ) -> EmbeddingResult | None:
        tries = 0
        while True:
            walk.attempts += 1
            begun = self.clock.monotonic()
            walk.inflight = (c, _elapsed(self.clock, begun))
            try:
                provider = self.providers.get(c.provider)
                if not isinstance(provider, Embedder):
                    raise Failed(
                        Failure(FailureClass.UNAVAILABLE, f"{c.provider} cannot make embeddings")
                    )
                request = build(c)
                answer = await provider.embed(request, self._access(c, generation))
                _check(c, request, answer, size)
            except Failed as exc:
                failure = walk.failed(c, exc, end_ms=_ms(self.clock.monotonic() - begun))
                rule = rule_for(failure, Phase.NOT_STARTED)
                self.health.failed(c, failure, rule, generation)
                wait = self._retry_wait(rule, failure, tries)
                if self.health.circuit(c) == "open":
                    wait = None
                if wait is None or walk.attempts >= self.budget.attempts:
                    self._after(walk, c, failure, rule)
                    return None
                tries += 1
                if wait > 0:
                    await self.sleep(wait)
                continue
            self.health.succeeded(c)
            walk.record(c, "succeeded", end_ms=_ms(self.clock.monotonic() - begun))
            walk.finished = True
            records = _linked(walk)
            _log(walk.plan, records)
            return EmbeddingResult(
                turn_id=walk.turn_id,
                model=c.ref,
                profile=c.profile,
                fallback=c != walk.first,
                vectors=answer.vectors,
                usage=answer.usage,
                attempts=records,
                reported_model=answer.model,
            )


def _elapsed(clock: Clock, begun: float) -> Timings:
    return lambda: {"end_ms": _ms(clock.monotonic() - begun)}


def _check(c: Candidate, request: EmbeddingRequest, answer: Embeddings, size: int | None) -> None:
    """Vectors of the length asked for (or, when none was, the model's configured one)."""
    got = len(answer.vectors[0]) if answer.vectors else 0
    if request.dimensions is not None and got != request.dimensions:
        raise Failed(
            Failure(
                FailureClass.BAD_REQUEST,
                f"{c.ref} makes {got}-dimension vectors and cannot shorten them to "
                f"{request.dimensions}",
                fix="leave dimensions out, or ask a model that can shorten its vectors",
            )
        )
    if request.dimensions is None and size is not None and got != size:
        raise Failed(
            Failure(
                FailureClass.UNAVAILABLE,
                f"{c.ref} answered with {got}-dimension vectors, not the {size} the config says",
                fix=f"correct the dimensions of {c.model} in models.providers.{c.provider}.models",
            )
        )


def _never_mixed(failed: RouteFailed, records: Sequence[AttemptRecord]) -> RouteFailed:
    """A request whose fallbacks were left out for their dimensions says so."""
    left = [r.candidate for r in records if r.reason == "dimensions"]
    if not left or all(r.decision == "skip_capability" for r in records):
        return failed  # nothing else was there: the skips' own messages say why
    names = ", ".join(dict.fromkeys(left))
    message = (
        f"{failed.message}. Not tried: {names}, whose vectors have other dimensions "
        "(vectors from different models are never mixed)"
    )
    return RouteFailed(replace(failed.failure, message=message), attempts=failed.attempts)

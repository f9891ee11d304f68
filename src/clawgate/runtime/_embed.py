"""One embeddings request, as a turn: plan the candidates (`routing.embedding_plan`), walk them
on the runtime's providers, broker and health (`routing.EmbeddingRouter`), and record the
decisions and the tokens used in ``state.db``, as a chat turn's are (a caller that goes away
first is recorded as ``client_gone``, as a turn's is)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from clawgate.providers import EmbeddingRequest
from clawgate.routing import (
    Candidate,
    EmbeddingPlan,
    EmbeddingResult,
    EmbeddingRouter,
    RouteFailed,
    embedding_plan,
)
from clawgate.runtime._turn import CLIENT_GONE, Runtime, TurnFailed
from clawgate.state import AttemptRecord, TurnRecord, UsageRecord

__all__ = ["EmbedRequest", "embed"]


@dataclass(frozen=True)
class EmbedRequest:
    inputs: tuple[str, ...]
    model: str | None = None  # None: the embeddings chain (agents.defaults.embeddings)
    dimensions: int | None = None
    user: str | None = None


async def embed(runtime: Runtime, request: EmbedRequest) -> EmbeddingResult:
    """The vectors and who made them; `TurnFailed` when no candidate could, and
    `routing.RoutingError` (`EmbeddingsUnconfigured`) before anything is tried."""
    turn_id = uuid.uuid4().hex
    started = runtime.clock.now()
    route = embedding_plan(runtime.settings, request.model, profiles=runtime.profiles)
    router = EmbeddingRouter(
        runtime.providers,
        runtime.health,
        clock=runtime.clock,
        broker=runtime.broker,
        sleep=runtime.router.sleep,
        budget=runtime.router.budget,
        jitter=runtime.router.jitter,
    )

    def build(c: Candidate) -> EmbeddingRequest:
        return EmbeddingRequest(c.model, request.inputs, request.dimensions, request.user)

    def gone(records: tuple[AttemptRecord, ...]) -> None:
        _record(runtime, route, turn_id, started, gone=records)

    try:
        result = await router.embed(route, build, turn_id=turn_id, gone=gone)
    except RouteFailed as exc:
        _record(runtime, route, turn_id, started, failed=exc)
        raise TurnFailed(turn_id, exc) from None
    _record(runtime, route, turn_id, started, result=result)
    return result


def _record(
    runtime: Runtime,
    route: EmbeddingPlan,
    turn_id: str,
    started: float,
    *,
    result: EmbeddingResult | None = None,
    failed: RouteFailed | None = None,
    gone: tuple[AttemptRecord, ...] | None = None,
) -> None:
    if runtime.state is None:
        return
    now = runtime.clock.now()
    runtime.state.decisions.record(
        TurnRecord(
            turn_id=turn_id,
            session_key=None,
            requested=route.plan.requested,
            started_at=started,
            ended_at=now,
            outcome="succeeded" if result else CLIENT_GONE if gone is not None else "failed",
            model=result.model if result else None,
            profile=result.profile if result else None,
            fallback=result.fallback if result else False,
            failure=failed.code if failed else CLIENT_GONE if gone is not None else None,
            attempts=result.attempts if result else failed.attempts if failed else gone or (),
        )
    )
    if result is None:
        return
    provider, _, model = result.model.partition("/")
    answered = next(c for c in route.plan.candidates if c.profile == result.profile)
    runtime.state.usage.add(
        UsageRecord(
            turn_id=turn_id,
            provider=provider,
            model=model,
            profile=result.profile,
            billing=answered.billing,
            input_tokens=result.usage.input_tokens if result.usage else None,
            output_tokens=0,
            at=now,
        )
    )

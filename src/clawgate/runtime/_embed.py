"""One embeddings request, as a turn: plan the candidates (`routing.embedding_plan`), walk them
on the runtime's providers, broker and health (`routing.EmbeddingRouter`), and record the
decisions and the tokens used in ``state.db``, as a chat turn's are (a caller that goes away
first is recorded as ``client_gone``, as a turn's is)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from clawgate import metrics
from clawgate.providers import EmbeddingRequest
from clawgate.routing import (
    Candidate,
    EmbeddingPlan,
    EmbeddingResult,
    EmbeddingRouter,
    RouteFailed,
    embedding_plan,
)
from clawgate.runtime._turn import Runtime, TurnFailed, turn_record, usage_record
from clawgate.state import AttemptRecord

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
    record = turn_record(turn_id, route.plan.requested, started, now, result, failed, gone)
    metrics.turn(record, result.usage if result else None, runtime.health.remembers)
    runtime.state.decisions.record(record)
    if result is not None:
        # Embeddings have no output: 0 tokens, also when the provider reported no usage.
        row = usage_record(turn_id, route.plan.candidates, result, now)
        runtime.state.usage.add(replace(row, output_tokens=0))

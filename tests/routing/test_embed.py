"""`EmbeddingRouter.embed` on scripted providers, a `Health` over an in-memory ``state.db``,
the manual clock and an injected sleep; then requests through a runtime wired as in
production, recorded in ``state.db`` as turns. (The plan is test_embed_plan.py's.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clawgate.clock import ManualClock
from clawgate.errors import Failed
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.providers import EmbeddingRequest, Embeddings, Usage
from clawgate.routing import (
    Candidate,
    EmbeddingPlan,
    EmbeddingResult,
    EmbeddingRouter,
    Health,
    RouteFailed,
    embedding_plan,
)
from clawgate.runtime import EmbedRequest, TurnFailed, embed
from clawgate.state import State
from tests.fakes import embeddings as fake
from tests.routing.conftest import World
from tests.routing.test_embed_plan import OAI, TwoProfiles, settings

pytestmark = pytest.mark.anyio


NOW = 1_900_000_000.0
TURN = "turn-1"
WORDS = ("the cat", "sat down")


# -- the walk -----------------------------------------------------------------------------------

Step = Embeddings | Failure


class Embedder:
    """One provider: each `embed` call plays its next step."""

    def __init__(self, *script: Step) -> None:
        self.script = list(script)
        self.requests: list[EmbeddingRequest] = []

    async def embed(self, request: EmbeddingRequest, access: object = None) -> Embeddings:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"{request.model} was asked once more than scripted")
        step = self.script.pop(0)
        if isinstance(step, Failure):
            raise Failed(step)
        return step

    async def aclose(self) -> None:
        return None


class ChatOnly:
    """A provider without `embed`."""

    async def aclose(self) -> None:
        return None


class Source:
    def __init__(self, **providers: object) -> None:
        self.providers = providers

    def get(self, name: str) -> Any:
        return self.providers[name]


def vectors(size: int, n: int = len(WORDS)) -> Embeddings:
    return Embeddings(tuple(tuple(fake.vector(w, size)) for w in WORDS[:n]), Usage(4, 0), "m-v1")


class Sleeper:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
def state() -> Iterator[State]:
    opened = State.open(":memory:")
    yield opened
    opened.close()


@pytest.fixture
def health(state: State, clock: ManualClock) -> Health:
    return Health(state.health, clock)


@pytest.fixture
def sleep(clock: ManualClock) -> Sleeper:
    return Sleeper(clock)


def router(source: Source, health: Health, clock: ManualClock, sleep: Sleeper) -> EmbeddingRouter:
    return EmbeddingRouter(source, health, clock=clock, sleep=sleep, jitter=lambda: 0.5)


def build(dimensions: int | None = None) -> Any:
    def request(c: Candidate) -> EmbeddingRequest:
        return EmbeddingRequest(c.model, WORDS, dimensions)

    return request


async def walk(
    route: EmbeddingPlan,
    source: Source,
    health: Health,
    clock: ManualClock,
    sleep: Sleeper,
    dimensions: int | None = None,
) -> EmbeddingResult | RouteFailed:
    try:
        return await router(source, health, clock, sleep).embed(
            route, build(dimensions), turn_id=TURN
        )
    except RouteFailed as exc:
        return exc


def record(outcome: EmbeddingResult | RouteFailed) -> list[tuple[str, str, str, str | None]]:
    return [(a.candidate, a.profile, a.decision, a.reason) for a in outcome.attempts]


CHAIN = {"primary": "a/m", "fallbacks": ["wide/m", "b/m"]}
THREE = {"a": (OAI, 8), "wide": (OAI, 16), "b": (OAI, 8)}


async def test_an_overloaded_profile_falls_to_the_same_models_next_profile(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    a = Embedder(
        Failure(F.OVERLOADED, "busy", status=503), Failure(F.OVERLOADED, "busy"), vectors(8)
    )
    route = embedding_plan(settings(CHAIN, **THREE), profiles=TwoProfiles())
    result = await walk(route, Source(a=a), health, clock, sleep)
    assert isinstance(result, EmbeddingResult)
    assert (result.model, result.profile, result.fallback) == ("a/m", "a:2", True)
    assert result.vectors == vectors(8).vectors
    assert result.reported_model == "m-v1"
    assert record(result) == [
        ("a/m", "a:1", "failed", "overloaded"),
        ("a/m", "a:1", "failed", "overloaded"),  # retried once, after a jittered wait
        ("a/m", "a:2", "succeeded", None),
    ]
    assert sleep.waits == [0.75]
    assert [r.model for r in a.requests] == ["m", "m", "m"]
    assert result.attempts[0].next == "a/m"


async def test_a_fallback_of_other_dimensions_is_skipped_and_recorded(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    a = Embedder(Failure(F.MODEL_NOT_FOUND, "no such model", status=404))
    b = Embedder(vectors(8))
    wide = Embedder()
    route = embedding_plan(settings(CHAIN, **THREE))
    result = await walk(route, Source(a=a, wide=wide, b=b), health, clock, sleep)
    assert isinstance(result, EmbeddingResult)
    assert (result.model, result.fallback) == ("b/m", True)
    assert record(result) == [
        ("a/m", "a:default", "failed", "model_not_found"),
        ("wide/m", "wide:default", "skip_capability", "dimensions"),
        ("b/m", "b:default", "succeeded", None),
    ]
    assert wide.requests == []


async def test_when_only_other_dimensions_are_left_the_error_says_so(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    a = Embedder(Failure(F.MODEL_NOT_FOUND, "no such model", status=404))
    route = embedding_plan(settings({"primary": "a/m", "fallbacks": ["wide/m"]}, **THREE))
    failed = await walk(route, Source(a=a, wide=Embedder()), health, clock, sleep)
    assert isinstance(failed, RouteFailed)
    assert failed.failure.kind is F.MODEL_NOT_FOUND
    assert "wide/m" in failed.message
    assert "vectors from different models are never mixed" in failed.message
    assert record(failed) == [
        ("a/m", "a:default", "failed", "model_not_found"),
        ("wide/m", "wide:default", "skip_capability", "dimensions"),
    ]


async def test_a_chain_that_cannot_embed_at_all_is_a_bad_request(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    chosen = settings(
        {"primary": "msg/m", "fallbacks": ["wide/m"]}, msg=("anthropic-messages", 8), wide=(OAI, 16)
    )
    failed = await walk(embedding_plan(chosen), Source(), health, clock, sleep)
    assert isinstance(failed, RouteFailed)
    assert failed.failure.kind is F.BAD_REQUEST
    assert failed.message == (
        "no model in the chain can take this request: msg cannot make embeddings; wide/m makes "
        "16-dimension vectors, msg/m 8-dimension ones: vectors from different models are never "
        "mixed"
    )


async def test_a_rate_limited_model_cools_down_for_the_next_request(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    a = Embedder(Failure(F.RATE_LIMIT, "slow down", status=429), vectors(8))
    b = Embedder(vectors(8), vectors(8))
    route = embedding_plan(settings(CHAIN, **THREE))
    first = await walk(route, Source(a=a, wide=Embedder(), b=b), health, clock, sleep)
    assert isinstance(first, EmbeddingResult)
    assert first.model == "b/m"
    second = await walk(route, Source(a=a, wide=Embedder(), b=b), health, clock, sleep)
    assert record(second) == [
        ("a/m", "a:default", "skip_cooldown", "rate_limit"),
        ("wide/m", "wide:default", "skip_capability", "dimensions"),
        ("b/m", "b:default", "succeeded", None),
    ]


async def test_a_provider_without_embeddings_fails_over(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    route = embedding_plan(settings(CHAIN, **THREE))
    result = await walk(route, Source(a=ChatOnly(), b=Embedder(vectors(8))), health, clock, sleep)
    assert isinstance(result, EmbeddingResult)
    assert record(result)[0] == ("a/m", "a:default", "failed", "unavailable")


async def test_vectors_longer_than_asked_are_refused(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    route = embedding_plan(settings(CHAIN, **THREE))
    failed = await walk(
        route, Source(a=Embedder(vectors(8)), b=Embedder()), health, clock, sleep, dimensions=4
    )
    assert isinstance(failed, RouteFailed)
    assert failed.failure.kind is F.BAD_REQUEST  # the request's to change: no fallback
    assert "a/m makes 8-dimension vectors and cannot shorten them to 4" in failed.message


async def test_vectors_of_another_length_than_configured_move_on(
    health: Health, clock: ManualClock, sleep: Sleeper
) -> None:
    route = embedding_plan(settings(CHAIN, **THREE))
    a, b = Embedder(vectors(12)), Embedder(vectors(8))
    result = await walk(route, Source(a=a, b=b), health, clock, sleep)
    assert isinstance(result, EmbeddingResult)
    assert result.model == "b/m"
    assert result.attempts[0].message == (
        "a/m answered with 12-dimension vectors, not the 8 the config says"
    )


# -- through a runtime --------------------------------------------------------------------------


async def test_a_request_is_recorded_as_a_turn(world: World) -> None:
    world.api.default = fake.answering({"/free/": 8}, world.api.default)
    runtime = world.start(
        agents__defaults__embeddings={"primary": "free/m"},
        models__providers__free__models=[{"id": "m", "dimensions": 8}],
    )
    result = await embed(runtime, EmbedRequest(WORDS))
    assert result.vectors == tuple(tuple(fake.vector(w, 8)) for w in WORDS)
    assert world.api.paths("/free/")[-1].body == {
        "model": "m",
        "input": list(WORDS),
        "encoding_format": "float",
    }
    state = world.state()
    try:
        turn = state.decisions.get(result.turn_id)
        assert turn is not None
        assert (turn.requested, turn.outcome, turn.model, turn.profile) == (
            None,
            "succeeded",
            "free/m",
            "free:default",
        )
        [used] = state.usage.for_turn(result.turn_id)
        assert (used.model, used.input_tokens, used.output_tokens, used.billing) == (
            "m",
            4,
            0,
            "free",
        )
    finally:
        state.close()


async def test_a_failed_request_is_recorded_with_its_turn(world: World) -> None:
    runtime = world.start(agents__defaults__embeddings={"primary": "free/m"})
    with pytest.raises(TurnFailed) as failed:
        await embed(runtime, EmbedRequest(WORDS))  # the fake has no /embeddings for it: 404
    assert failed.value.failure.kind is F.MODEL_NOT_FOUND
    state = world.state()
    try:
        turn = state.decisions.get(failed.value.turn_id)
        assert turn is not None
        assert (turn.outcome, turn.failure) == ("failed", "model_not_found")
        assert [(a.candidate, a.decision, a.status) for a in turn.attempts] == [
            ("free/m", "failed", 404)
        ]
    finally:
        state.close()

"""`Router.route` on its own: scripted providers (no HTTP), a `Health` over an in-memory
``state.db``, the manual clock and an injected sleep. What the caller sees (the order of the
turn's events, the very same content objects), what each failure does to the walk (before and
after content, retries and their waits, the budgets), and the record and log of every step.
(The same rules through real HTTP and the runtime are in test_failover.py and
test_streaming.py.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pytest

from clawgate.clock import ManualClock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.providers import (
    Completed,
    Message,
    ModelRequest,
    Phase,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from clawgate.routing import (
    TABLE,
    Answering,
    Budget,
    Candidate,
    Health,
    Plan,
    Restart,
    RouteFailed,
    Router,
    Skip,
    TurnEvent,
    TurnResult,
    plan,
    rule_for,
)
from clawgate.state import AttemptRecord, State

pytestmark = pytest.mark.anyio

NOW = 1_900_000_000.0
TURN = "turn-1"
HELLO = (Message("user", "Say hello."),)

A = Candidate("a", "m", "a:1", "subscription", 4096)
A2 = Candidate("a", "m", "a:2", "subscription", 4096)
B = Candidate("b", "m", "b:1", "subscription", 4096)
C = Candidate("c", "m", "c:1", "subscription")
D = Candidate("d", "m", "d:1", "subscription", 32768)


# -- the scripted world -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """A script step: the provider takes this long (the clock moves)."""

    seconds: float


Step: TypeAlias = StreamEvent | Failure | Tick


class Scripted:
    """One provider: each `stream` call plays its next script (events, then a `Failure` to
    raise, or the end). Each script is a generator that notes when it was closed."""

    def __init__(self, clock: ManualClock, *scripts: Sequence[Step]) -> None:
        self.clock = clock
        self.scripts = list(scripts)
        self.requests: list[ModelRequest] = []
        self.accesses: list[object] = []
        self.closed = 0
        self.drops: tuple[str, ...] = ()

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return self.drops

    def stream(
        self, request: ModelRequest, access: object = None
    ) -> AsyncGenerator[StreamEvent, None]:
        self.requests.append(request)
        self.accesses.append(access)
        if not self.scripts:
            raise AssertionError(f"{request.model} was called once more than scripted")
        return self._play(self.scripts.pop(0))

    async def _play(self, script: Sequence[Step]) -> AsyncGenerator[StreamEvent, None]:
        try:
            for step in script:
                if isinstance(step, Tick):
                    self.clock.advance(step.seconds)
                elif isinstance(step, Failure):
                    raise Failed(step)
                else:
                    yield step
        finally:
            self.closed += 1

    async def usage_windows(self, access: object) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Source:
    """A `ProviderSource` over scripted providers; an unknown name fails as `lookup` does."""

    def __init__(self, **providers: Scripted) -> None:
        self.providers = providers

    def get(self, name: str) -> Scripted:
        if name not in self.providers:
            raise Failed(Failure(F.UNAVAILABLE, f"unknown provider {name!r}"))
        return self.providers[name]


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


@dataclass(frozen=True)
class Scene:
    """What a router is built with here: the manual clock, a `Health` over the in-memory
    ``state.db``, and the sleep that records its waits."""

    clock: ManualClock
    health: Health
    sleep: Sleeper

    def scripted(self, *scripts: Sequence[Step]) -> Scripted:
        return Scripted(self.clock, *scripts)

    def router(self, source: Source, budget: Budget | None = None, jitter: float = 0.5) -> Router:
        return Router(
            source,
            self.health,
            clock=self.clock,
            broker=None,
            sleep=self.sleep,
            budget=budget,
            jitter=lambda: jitter,
        )


@pytest.fixture
def scene(clock: ManualClock, health: Health, sleep: Sleeper) -> Scene:
    return Scene(clock, health, sleep)


@dataclass
class Run:
    events: list[TurnEvent]
    failed: RouteFailed | None

    @property
    def result(self) -> TurnResult:
        assert self.failed is None, f"the turn failed: {self.failed!r}"
        last = self.events[-1]
        assert isinstance(last, TurnResult)
        return last


def walk(plan_: Plan | Sequence[Candidate | Skip]) -> Plan:
    return plan_ if isinstance(plan_, Plan) else Plan(None, False, tuple(plan_))


def build(c: Candidate) -> ModelRequest:
    return ModelRequest(c.model, HELLO)


async def run(
    r: Router, plan_: Plan | Sequence[Candidate | Skip], *, restartable: bool = False
) -> Run:
    events: list[TurnEvent] = []
    try:
        async for event in r.route(walk(plan_), build, turn_id=TURN, restartable=restartable):
            events.append(event)
    except RouteFailed as exc:
        return Run(events, exc)
    return Run(events, None)


def steps(records: Sequence[AttemptRecord]) -> list[tuple[str, str, str, str | None]]:
    return [(r.candidate, r.profile, r.decision, r.reason) for r in records]


def ok(*texts: str, usage: Usage | None = None) -> list[Step]:
    return [*(TextDelta(t) for t in texts), Completed("stop", "m-reported", usage)]


def fail(kind: F, message: str = "it failed", **fields: Any) -> Failure:
    return Failure(kind, message, **fields)


# -- the events of a turn ---------------------------------------------------------------------


async def test_answering_comes_first_then_the_same_content_objects_then_one_result(
    scene: Scene,
) -> None:
    hel, lo = TextDelta("Hel"), TextDelta("lo")
    usage = Usage(7, 2)
    a = scene.scripted([Tick(1.5), hel, Tick(0.5), lo, Completed("stop", "m-2025", usage)])
    got = await run(scene.router(Source(a=a)), [A, B])

    answering, first, second, result = got.events
    assert answering == Answering(TURN, "a/m", "a:1", fallback=False, dropped=())
    assert first is hel
    assert second is lo
    assert isinstance(result, TurnResult)
    assert result.turn_id == TURN
    assert (result.model, result.profile, result.fallback) == ("a/m", "a:1", False)
    assert (result.text, result.finish_reason, result.reported_model) == ("Hello", "stop", "m-2025")
    assert result.usage is usage
    assert result.attempts == (
        AttemptRecord("a/m", "a:1", "succeeded", first_token_ms=1500.0, end_ms=2000.0),
    )
    assert scene.sleep.waits == []
    assert a.closed == 1


async def test_the_request_is_what_build_made_for_the_candidate(scene: Scene) -> None:
    built: list[Candidate] = []
    requests: list[ModelRequest] = []

    def recording_build(c: Candidate) -> ModelRequest:
        built.append(c)
        requests.append(ModelRequest(f"{c.model}-wire", HELLO, max_tokens=5))
        return requests[-1]

    a = scene.scripted(ok("hi"))
    r = scene.router(Source(a=a))
    events = [e async for e in r.route(walk([A]), recording_build, turn_id=TURN)]
    assert built == [A]
    assert a.requests[0] is requests[0]
    assert a.accesses == [None]  # no broker: a provider that needs no credential
    assert isinstance(events[-1], TurnResult)


async def test_tool_call_pieces_pass_through_and_the_result_assembles_them(scene: Scene) -> None:
    pieces = [
        ToolCallDelta(0, id="call_1", name="lookup"),
        ToolCallDelta(0, arguments='{"q": '),
        ToolCallDelta(0, arguments='"x"}'),
    ]
    a = scene.scripted([*pieces, Completed("tool_calls", "m")])
    got = await run(scene.router(Source(a=a)), [A])
    assert isinstance(got.events[0], Answering)
    assert all(shown is sent for shown, sent in zip(got.events[1:4], pieces, strict=True))
    assert got.result.tool_calls == (ToolCall("call_1", "lookup", '{"q": "x"}'),)
    assert (got.result.text, got.result.finish_reason) == ("", "tool_calls")


async def test_what_the_wire_drops_is_told_in_answering_and_the_result(scene: Scene) -> None:
    a = scene.scripted(ok("hi"))
    a.drops = ("logit_bias",)
    got = await run(scene.router(Source(a=a)), [A])
    answering = got.events[0]
    assert isinstance(answering, Answering)
    assert answering.dropped == ("logit_bias",)
    assert got.result.dropped == ("logit_bias",)


# -- before content: a failure moves on unseen ----------------------------------------------


async def test_a_failure_before_content_moves_on_unseen(scene: Scene) -> None:
    a = scene.scripted([Tick(0.25), fail(F.MODEL_NOT_FOUND, "no such model", status=404)])
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])

    answering = [e for e in got.events if isinstance(e, Answering)]
    assert answering == [Answering(TURN, "b/m", "b:1", fallback=True)]
    assert got.events[0] is answering[0]  # nothing of a's reached the caller
    assert got.result.fallback is True
    assert got.result.model == "b/m"
    failed, succeeded = got.result.attempts
    assert failed == AttemptRecord(
        "a/m",
        "a:1",
        "failed",
        reason="model_not_found",
        status=404,
        message="no such model",
        first_token_ms=None,
        end_ms=250.0,
        next="b/m",
    )
    assert (succeeded.decision, succeeded.next) == ("succeeded", None)
    assert a.closed == 1


async def test_an_unknown_provider_is_a_failure_of_its_candidate_only(scene: Scene) -> None:
    ghost = Candidate("ghost", "m", "ghost:default")
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(b=b)), [ghost, B])
    assert steps(got.result.attempts) == [
        ("ghost/m", "ghost:default", "failed", "unavailable"),
        ("b/m", "b:1", "succeeded", None),
    ]


# -- after content: restart or an explicit error ----------------------------------------------


async def test_after_content_a_restartable_caller_gets_restart_then_a_whole_new_answer(
    scene: Scene,
) -> None:
    cut = TextDelta("Hel")
    a = scene.scripted([cut, fail(F.NETWORK, "connection reset")], ok("never sent"))
    b = scene.scripted(ok("Hello", " there"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B], restartable=True)

    kinds = [type(e).__name__ for e in got.events]
    assert kinds == [
        "Answering",
        "TextDelta",
        "Restart",
        "Answering",
        "TextDelta",
        "TextDelta",
        "TurnResult",
    ]
    assert got.events[0] == Answering(TURN, "a/m", "a:1", fallback=False)
    assert got.events[1] is cut
    restart = got.events[2]
    assert isinstance(restart, Restart)
    assert restart.reason == "a/m broke off its answer: connection reset"
    assert got.events[3] == Answering(TURN, "b/m", "b:1", fallback=True)
    assert got.result.text == "Hello there"  # the cut text is no part of the answer
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "network"),
        ("b/m", "b:1", "succeeded", None),
    ]
    assert len(a.requests) == 1  # not retried in place, though network is retried before content
    assert scene.sleep.waits == []


async def test_after_content_an_api_caller_gets_a_partial_stream_broken_failure(
    scene: Scene,
) -> None:
    a = scene.scripted([TextDelta("Hel"), fail(F.SERVER_ERROR, "upstream 500", status=500)])
    b = scene.scripted(ok("never asked"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])

    assert [type(e) for e in got.events] == [Answering, TextDelta]  # no TurnResult
    assert got.failed is not None
    assert got.failed.partial is True
    assert got.failed.failure.kind is F.STREAM_BROKEN
    assert got.failed.failure.message == "a/m broke off its answer: upstream 500"
    assert got.failed.failure.fix == "ask again; the partial answer is incomplete"
    assert got.failed.attempts == (
        AttemptRecord(
            "a/m",
            "a:1",
            "failed",
            reason="server_error",
            status=500,
            message="upstream 500",
            first_token_ms=0.0,
            end_ms=0.0,
        ),
    )
    assert b.requests == []
    assert scene.sleep.waits == []


@pytest.mark.parametrize("kind", [F.CONTENT_FILTER, F.RATE_LIMIT, F.CONTEXT_OVERFLOW])
async def test_after_content_every_class_restarts_on_the_next_candidate(
    scene: Scene, kind: F
) -> None:
    """Phase STREAMING overrides the table: no stop, no wait, no context rule."""
    a = scene.scripted([TextDelta("x"), fail(kind, "cut", retry_after=1.0)])
    b = scene.scripted(ok("whole"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B], restartable=True)
    assert any(isinstance(e, Restart) for e in got.events)
    assert got.result.model == "b/m"
    assert scene.sleep.waits == []


async def test_a_stream_that_ends_without_completed_is_broken(scene: Scene) -> None:
    a = scene.scripted([TextDelta("Hel")])  # then the end, no terminal event
    got = await run(scene.router(Source(a=a)), [A])
    assert got.failed is not None
    assert got.failed.partial is True
    assert got.failed.failure.kind is F.STREAM_BROKEN
    assert steps(got.failed.attempts) == [("a/m", "a:1", "failed", "stream_broken")]
    assert got.failed.attempts[0].message == "the stream ended unfinished"


async def test_an_empty_stream_is_broken_before_content_so_retried_once_then_moved_on(
    scene: Scene,
) -> None:
    a = scene.scripted([], [])
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "stream_broken"),
        ("a/m", "a:1", "failed", "stream_broken"),
        ("b/m", "b:1", "succeeded", None),
    ]
    assert not any(isinstance(e, Restart) for e in got.events)
    assert scene.sleep.waits == []  # stream_broken retries without a backoff


async def test_a_caller_that_stops_early_closes_the_providers_stream(scene: Scene) -> None:
    a = scene.scripted(ok("one", "two", "three"))
    r = scene.router(Source(a=a))
    events = r.route(walk([A]), build, turn_id=TURN)
    assert isinstance(await events.__anext__(), Answering)
    assert await events.__anext__() == TextDelta("one")
    await events.aclose()
    assert a.closed == 1


# -- retries ----------------------------------------------------------------------------------


async def test_a_retry_after_within_the_budget_is_waited_and_the_same_candidate_answers(
    scene: Scene,
) -> None:
    a = scene.scripted([fail(F.RATE_LIMIT, "slow down", status=429, retry_after=2.0)], ok("Hi"))
    got = await run(scene.router(Source(a=a)), [A, B])
    assert scene.sleep.waits == [2.0]
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "rate_limit"),
        ("a/m", "a:1", "succeeded", None),
    ]
    assert [r.next for r in got.result.attempts] == ["a/m", None]
    assert got.result.fallback is False  # the same candidate, though on its second try


async def test_a_retry_after_equal_to_the_budget_is_still_waited(scene: Scene) -> None:
    a = scene.scripted([fail(F.RATE_LIMIT, "slow", retry_after=4.0)], ok("Hi"))
    got = await run(scene.router(Source(a=a), Budget(retry_wait=4.0)), [A])
    assert scene.sleep.waits == [4.0]
    assert got.result.model == "a/m"


@pytest.mark.parametrize("retry_after", [None, 10.5])
async def test_no_retry_after_or_one_past_the_budget_moves_on_without_waiting(
    scene: Scene, retry_after: float | None
) -> None:
    a = scene.scripted([fail(F.RATE_LIMIT, "slow", retry_after=retry_after)])
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert scene.sleep.waits == []
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "rate_limit"),
        ("b/m", "b:1", "succeeded", None),
    ]


async def test_a_retry_after_is_waited_only_once(scene: Scene) -> None:
    limited = fail(F.RATE_LIMIT, "slow", retry_after=2.0)
    a = scene.scripted([limited], [limited])
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert scene.sleep.waits == [2.0]
    assert [r.candidate for r in got.result.attempts] == ["a/m", "a/m", "b/m"]


@pytest.mark.parametrize(("jitter", "wait"), [(0.0, 1.5), (0.5, 2.25), (1.0, 3.0)])
async def test_a_server_error_is_retried_once_after_the_jittered_backoff(
    scene: Scene, jitter: float, wait: float
) -> None:
    """backoff * (0.5 + jitter / 2): between half and all of the base."""
    down = fail(F.SERVER_ERROR, "boom", status=500)
    a = scene.scripted([down], [down])
    b = scene.scripted(ok("Hi"))
    r = scene.router(Source(a=a, b=b), Budget(backoff=3.0), jitter=jitter)
    got = await run(r, [A, B])
    assert scene.sleep.waits == [wait]
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "server_error"),
        ("a/m", "a:1", "failed", "server_error"),
        ("b/m", "b:1", "succeeded", None),
    ]


async def test_a_transient_auth_failure_is_retried_at_once(scene: Scene) -> None:
    a = scene.scripted([fail(F.AUTH_TRANSIENT, "try again")], ok("Hi"))
    got = await run(scene.router(Source(a=a)), [A])
    assert scene.sleep.waits == []
    assert [r.decision for r in got.result.attempts] == ["failed", "succeeded"]


@pytest.mark.parametrize(
    ("phase", "answered_by"), [("connect", "a/m"), ("first_token", "b/m"), ("idle", "b/m")]
)
async def test_a_connect_timeout_is_retried_but_a_silent_route_is_not(
    scene: Scene, phase: str, answered_by: str
) -> None:
    a = scene.scripted([fail(F.TIMEOUT, "no answer", phase=phase)], ok("Hi"))
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert got.result.model == answered_by
    assert [r.reason for r in got.result.attempts] == ["timeout", None]


async def test_a_circuit_that_opens_takes_no_retry(scene: Scene) -> None:
    down = fail(F.SERVER_ERROR, "boom")
    for _ in range(2):  # two failures of earlier turns: still closed
        scene.health.failed(A, down, TABLE[F.SERVER_ERROR], None)
    assert scene.health.circuit(A) == "closed"
    a = scene.scripted([down], ok("never asked"))
    b = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert scene.health.circuit(A) == "open"
    assert scene.sleep.waits == []
    assert len(a.requests) == 1
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "server_error"),
        ("b/m", "b:1", "succeeded", None),
    ]


async def test_when_every_circuit_is_open_the_first_to_recover_is_probed_without_retry(
    scene: Scene,
) -> None:
    down = fail(F.SERVER_ERROR, "boom")
    for _ in range(3):
        scene.health.failed(A, down, TABLE[F.SERVER_ERROR], None)
    scene.clock.advance(1)
    for _ in range(3):
        scene.health.failed(B, down, TABLE[F.SERVER_ERROR], None)
    a = scene.scripted([down], ok("never asked"))
    b = scene.scripted(ok("never asked"))
    got = await run(scene.router(Source(a=a, b=b)), [B, A])
    assert got.failed is not None
    assert steps(got.failed.attempts) == [
        ("b/m", "b:1", "skip_cooldown", "circuit_open"),
        ("a/m", "a:1", "failed", "server_error"),
    ]
    assert scene.sleep.waits == []
    assert len(a.requests) == 1
    assert b.requests == []
    assert scene.health.circuit(A) == "open"


async def test_a_cooldown_left_by_one_turn_skips_the_candidate_in_the_next(scene: Scene) -> None:
    a = scene.scripted([fail(F.RATE_LIMIT, "slow", retry_after=120.0)])
    b = scene.scripted(ok("one"), ok("two"))
    r = scene.router(Source(a=a, b=b))
    await run(r, [A, B])
    got = await run(r, [A, B])
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "skip_cooldown", "rate_limit"),
        ("b/m", "b:1", "succeeded", None),
    ]
    assert got.result.fallback is True


# -- what a failure means for the rest of the plan -------------------------------------------


async def test_context_overflow_moves_only_to_a_larger_context(scene: Scene) -> None:
    a = scene.scripted([fail(F.CONTEXT_OVERFLOW, "too long", status=400)], ok("never asked"))
    d = scene.scripted(ok("Fits"))
    source = Source(a=a, b=scene.scripted(), c=scene.scripted(), d=d)
    got = await run(scene.router(source), [A, A2, B, C, D])
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "context_overflow"),
        ("a/m", "a:2", "skip_policy", "context_overflow"),  # the same model, another profile
        ("b/m", "b:1", "skip_policy", "context_overflow"),  # the same size
        ("c/m", "c:1", "skip_policy", "context_overflow"),  # an unknown size
        ("d/m", "d:1", "succeeded", None),
    ]
    assert len(a.requests) == 1


async def test_a_second_overflow_raises_the_floor(scene: Scene) -> None:
    mid = Candidate("b", "m", "b:1", "subscription", 8192)
    mid_too = Candidate("c", "m", "c:1", "subscription", 8192)
    overflow = fail(F.CONTEXT_OVERFLOW, "too long")
    source = Source(
        a=scene.scripted([overflow]),
        b=scene.scripted([overflow]),
        c=scene.scripted(),
        d=scene.scripted(ok("Fits")),
    )
    got = await run(scene.router(source), [A, mid, mid_too, D])
    assert [r.decision for r in got.result.attempts] == [
        "failed",
        "failed",
        "skip_policy",
        "succeeded",
    ]


@pytest.mark.parametrize("kind", [F.CONTENT_FILTER, F.BAD_REQUEST])
async def test_a_refusal_of_the_request_itself_stops_the_walk(scene: Scene, kind: F) -> None:
    a = scene.scripted([fail(kind, "refused", status=400, fix="rephrase it")])
    b = scene.scripted(ok("never asked"))
    got = await run(scene.router(Source(a=a, b=b)), [A, A2, B])
    assert got.failed is not None
    assert got.failed.partial is False
    assert got.failed.failure.kind is kind
    assert got.failed.failure.status == 400
    assert got.failed.failure.fix == "rephrase it"
    assert got.failed.failure.message == (
        f"no model could answer. Tried a/m (a:1): {kind.value}: refused"
    )
    assert steps(got.failed.attempts) == [("a/m", "a:1", "failed", kind.value)]
    assert len(a.requests) == 1
    assert b.requests == []


async def test_a_dead_profile_rotates_to_the_models_next_profile(scene: Scene) -> None:
    a = scene.scripted([fail(F.AUTH_DEAD, "revoked", status=401)], ok("Hi"))
    got = await run(scene.router(Source(a=a)), [A, A2])
    assert steps(got.result.attempts) == [
        ("a/m", "a:1", "failed", "auth_dead"),
        ("a/m", "a:2", "succeeded", None),
    ]
    assert got.result.fallback is True


async def test_when_every_candidate_fails_the_last_failure_names_every_try(scene: Scene) -> None:
    a = scene.scripted([fail(F.MODEL_NOT_FOUND, "gone", status=404)])
    b = scene.scripted([fail(F.QUOTA, "used up", status=429, fix="wait for the reset")])
    got = await run(scene.router(Source(a=a, b=b)), [A, B])
    assert got.failed is not None
    assert got.failed.failure.kind is F.QUOTA
    assert got.failed.failure.fix == "wait for the reset"
    assert got.failed.failure.message == (
        "no model could answer. Tried a/m (a:1): model_not_found: gone; b/m (b:1): quota: used up"
    )
    assert [r.next for r in got.failed.attempts] == ["b/m", None]


# -- budgets ----------------------------------------------------------------------------------


async def test_the_attempt_budget_ends_the_walk(scene: Scene) -> None:
    down = fail(F.NETWORK, "unreachable")
    a = scene.scripted([down], [down])
    b = scene.scripted(ok("never asked"))
    got = await run(scene.router(Source(a=a, b=b), Budget(attempts=2)), [A, B])
    assert got.failed is not None
    assert got.failed.failure.kind is F.NETWORK
    assert steps(got.failed.attempts) == [
        ("a/m", "a:1", "failed", "network"),
        ("a/m", "a:1", "failed", "network"),
    ]
    assert b.requests == []


async def test_the_last_attempt_of_the_budget_takes_no_retry_and_no_wait(scene: Scene) -> None:
    a = scene.scripted([fail(F.SERVER_ERROR, "boom")], ok("never asked"))
    got = await run(scene.router(Source(a=a), Budget(attempts=1)), [A])
    assert got.failed is not None
    assert scene.sleep.waits == []
    assert len(a.requests) == 1


async def test_the_time_budget_counts_the_waits(scene: Scene) -> None:
    limited = fail(F.RATE_LIMIT, "slow", retry_after=6.0)
    a = scene.scripted([limited], [limited])
    b = scene.scripted(ok("never asked"))
    got = await run(scene.router(Source(a=a, b=b), Budget(seconds=5.0)), [A, B])
    assert scene.sleep.waits == [6.0]
    assert got.failed is not None
    assert [r.candidate for r in got.failed.attempts] == ["a/m", "a/m"]
    assert b.requests == []


# -- skips, records and the decision log ------------------------------------------------------


async def test_the_plans_skips_are_recorded_and_every_record_names_the_next(scene: Scene) -> None:
    paid = Candidate("b", "m", "b:key", "metered")
    skip = Skip(paid, "skip_policy", "policy_billing_kind", "billed per use", "allow it")
    a = scene.scripted([fail(F.OVERLOADED, "busy")], [fail(F.OVERLOADED, "busy")])
    c = scene.scripted(ok("Hi"))
    got = await run(scene.router(Source(a=a, c=c)), [A, skip, C])
    records = got.result.attempts
    assert steps(records) == [
        ("a/m", "a:1", "failed", "overloaded"),
        ("a/m", "a:1", "failed", "overloaded"),
        ("b/m", "b:key", "skip_policy", "policy_billing_kind"),
        ("c/m", "c:1", "succeeded", None),
    ]
    assert records[2].message == "billed per use"
    assert [r.next for r in records] == ["a/m", "b/m", "c/m", None]


async def test_a_plan_of_skips_only_fails_with_the_first_fix(scene: Scene) -> None:
    login = "clawgate models auth login --provider a"
    steps_ = [
        Skip(A, "skip_needs_login", "no_profile", "no credentials stored for a", login),
        Skip(B, "skip_policy", "policy_billing_kind", "billed per use", "allow it"),
    ]
    got = await run(scene.router(Source()), steps_)
    assert got.failed is not None
    assert got.failed.failure.kind is F.AUTH_DEAD  # someone has to log in
    assert got.failed.failure.fix == login
    assert got.failed.failure.message == (
        "no candidate could be tried. Skipped a/m (a:1): no_profile; b/m (b:1): policy_billing_kind"
    )
    assert [r.decision for r in got.failed.attempts] == ["skip_needs_login", "skip_policy"]


async def test_a_plan_of_policy_skips_only_is_unavailable(scene: Scene) -> None:
    only = [Skip(B, "skip_policy", "policy_billing_kind", "billed per use")]
    got = await run(scene.router(Source()), only)
    assert got.failed is not None
    assert got.failed.failure.kind is F.UNAVAILABLE
    assert got.failed.failure.fix == "wait for the cooldowns to pass, or add a fallback model"


async def test_the_decision_log_has_one_line_per_record(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clawgate.routing")
    settings = Settings.model_validate(
        {"agents": {"defaults": {"model": {"primary": "a/m", "fallbacks": ["b/m"]}}}}
    )
    chain = plan(settings)
    a = scene.scripted([fail(F.MODEL_NOT_FOUND, "gone")])
    b = scene.scripted(ok("Hi"))
    await run(scene.router(Source(a=a, b=b)), chain)
    lines = [r.getMessage() for r in caplog.records if r.name == "clawgate.routing"]
    assert lines == [
        "decision=failed requested=default candidate=a/m profile=a:default "
        "reason=model_not_found next=b/m",
        "decision=succeeded requested=default candidate=b/m profile=b:default reason=- next=-",
    ]


async def test_a_failed_turn_is_logged_once_under_the_requested_model(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clawgate.routing")
    settings = Settings.model_validate({})
    chain = plan(settings, "a/m")
    assert chain.strict is True
    a = scene.scripted([TextDelta("Hel"), fail(F.NETWORK, "reset")])
    got = await run(scene.router(Source(a=a)), chain)
    assert got.failed is not None
    assert got.failed.partial
    lines = [r.getMessage() for r in caplog.records if r.name == "clawgate.routing"]
    assert lines == [
        "decision=failed requested=a/m candidate=a/m profile=a:default reason=network next=-"
    ]


# -- rule_for by phase (the table's rows are in test_policy.py) -------------------------------


@pytest.mark.parametrize("phase", [Phase.STREAMING, Phase.FINISHED])
@pytest.mark.parametrize("kind", list(F))
def test_once_content_was_shown_every_class_reads_the_same_no_retry_rule(
    kind: F, phase: Phase
) -> None:
    rule = rule_for(Failure(kind, "x"), phase)
    assert (rule.same, rule.next_profile, rule.next_model, rule.effect) == (
        "no",
        True,
        "yes",
        "circuit",
    )
    assert not rule.stops
    assert not rule.backoff


@pytest.mark.parametrize("kind", list(F))
def test_before_content_each_class_reads_its_own_row(kind: F) -> None:
    failure = Failure(kind, "x", phase="connect" if kind is F.TIMEOUT else None)
    assert rule_for(failure, Phase.NOT_STARTED) is TABLE[kind]


def test_only_the_request_refusals_stop_the_walk() -> None:
    stopping = {kind for kind, rule in TABLE.items() if rule.stops}
    assert stopping == {F.CONTENT_FILTER, F.BAD_REQUEST}

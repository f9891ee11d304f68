"""One turn: plan the candidates, route (docs/routing.md), and record what happened.

With a state DB, a session's history is loaded before and extended after the turn, each
attempt's decision is written, and so are the tokens used. The caller always learns which
model and profile answered and whether that was a fallback.

A turn whose caller goes away before its result (the task cancelled, or its event stream
closed) is recorded with the outcome ``client_gone``: the attempts made until then, the one in
flight as ``client_gone``; no tokens are charged and the session is not extended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from clawgate import metrics
from clawgate.auth import Broker
from clawgate.catalog import Capability
from clawgate.clock import Clock, SystemClock
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.providers import (
    Message,
    ModelRequest,
    Options,
    Providers,
    ProviderSource,
    Usage,
    from_record,
    lookup,
    to_record,
)
from clawgate.routing import (
    Budget,
    Candidate,
    Health,
    Plan,
    PooledProfiles,
    Pools,
    RouteFailed,
    Router,
    TurnEvent,
    TurnResult,
    VaultProfiles,
    named_refs,
    plan,
)
from clawgate.runtime import _windows as windows
from clawgate.runtime._history import fit
from clawgate.runtime._sleep import Sleep
from clawgate.service import TURN_ID
from clawgate.state import AttemptRecord, State, StoredMessage, TurnRecord, UsageRecord
from clawgate.vault import Vault

__all__ = ["CLIENT_GONE", "Runtime", "TurnFailed", "TurnRequest", "conversation_key"]

CLIENT_GONE = "client_gone"  # the outcome and failure of a turn whose caller went away
RECENT_TOKENS = 24 * 3600.0  # what ``least-used`` counts without usage windows
# Provider session ids are derived from conversation keys, not the keys themselves: a key
# may be a caller's `user` (an e-mail address, say), which need not leave this process.
_SESSION_IDS = uuid.UUID("5b0e1c8e-2f7a-4c1e-9a51-6f1d8c2f4a10")


@dataclass(frozen=True)
class TurnRequest:
    messages: tuple[Message, ...]  # with a session: only the new ones
    model: str | None = None  # None: the configured default chain
    models: tuple[str, ...] = ()  # an explicit ordered chain (the OpenRouter convention)
    fallbacks: bool = False  # an explicit model opts in to the configured fallbacks
    session: str | None = None  # history is read from and written to state.db
    # The conversation the turn belongs to, when the caller names one without a session:
    # ``named:<x-clawgate-session>`` or ``turn:<a Responses chain's first turn>``.
    conversation: str | None = None
    restartable: bool = False  # the caller can replace a broken answer (chat, terminal)
    # False: the caller wants the whole answer at once, so the upstream is asked for one
    # JSON answer where it can give one (no per-event cost); the events are the same.
    stream: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    options: Options = field(default_factory=Options)  # tools, output format, sampling


class TurnFailed(RouteFailed):
    """The route's failure, named by its turn (the API returns the id in a header)."""

    def __init__(self, turn_id: str, failed: RouteFailed) -> None:
        super().__init__(failed.failure, attempts=failed.attempts, partial=failed.partial)
        self.turn_id = turn_id


class Runtime:
    def __init__(
        self,
        settings: Settings,
        providers: ProviderSource | None = None,
        *,
        state: State | None = None,
        vault: Vault | None = None,
        broker: Broker | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        budget: Budget | None = None,
    ) -> None:
        self.settings = settings
        self.providers = providers or Providers(settings.models.providers)
        self.broker = broker
        self.state = state
        self.vault = vault
        self.clock = clock or SystemClock()
        # Per-model health only for the models the config names: requests choose the rest.
        remembers = named_refs(settings).__contains__
        self.health = Health(state.health if state else None, self.clock, remembers=remembers)
        self.profiles = VaultProfiles(vault, settings) if vault else None
        self.pools = Pools(settings, recent_tokens=self._recent_tokens)
        self.router = Router(
            self.providers,
            self.health,
            clock=self.clock,
            broker=broker,
            sleep=sleep,
            budget=budget,
            resume=settings.routing.resume == "auto",
            prefills=self._prefills,
        )

    def _prefills(self, c: Candidate) -> bool:
        """Whether ``c``'s wire continues an assistant prefill: Anthropic Messages does
        ("Prefill Claude's response"); the OpenAI wires have no such promise."""
        try:
            spec = lookup(c.provider, self.settings.models.providers.get(c.provider))
        except Failed:
            return False
        return spec.name == "anthropic"

    def _recent_tokens(self) -> dict[str, int]:
        if self.state is None:
            return {}
        return self.state.usage.tokens_since(self.clock.now() - RECENT_TOKENS)

    def plan(
        self,
        request: TurnRequest,
        messages: Sequence[Message] | None = None,
        *,
        conversation: str | None = None,
        advance: bool = False,
    ) -> Plan:
        """The turn's candidates; ``messages`` (history included) decide what a model must be
        able to take, the request's own messages when not given. Each provider's profiles
        come in its pool's order for ``conversation``; ``advance`` (a turn, not a look) moves
        a round-robin on."""
        models: list[str] | None = list(request.models) or None
        if request.model and request.fallbacks:
            selection = self.settings.agents.defaults.model
            models = [request.model, selection.primary, *selection.fallbacks]
        return plan(
            self.settings,
            None if models else request.model,
            models=models,
            profiles=self.profiles
            and PooledProfiles(self.profiles, self.pools, conversation, advance=advance),
            needs=needs(request.options, request.messages if messages is None else messages),
        )

    async def stream(self, request: TurnRequest) -> AsyncGenerator[TurnEvent, None]:
        turn_id = uuid.uuid4().hex
        TURN_ID.set(turn_id)  # on every log line from here on, the decision lines too
        started = self.clock.now()
        history: list[Message] = []
        if request.session and self.state:
            stored = self.state.sessions.history(request.session)
            history = [_replayed(m) for m in stored]
        messages = (*history, *request.messages)
        conversation = conversation_key(request, turn_id)
        if self.profiles is not None and windows.wanted(self.pools, self.health):
            looked = self.plan(request, messages, conversation=conversation)
            await windows.read_windows(
                looked.candidates,
                providers=self.providers,
                broker=self.broker,
                pools=self.pools,
                health=self.health,
                clock=self.clock,
            )
        route = self.plan(request, messages, conversation=conversation, advance=True)
        session_id = str(uuid.uuid5(_SESSION_IDS, conversation))

        def build(c: Candidate) -> ModelRequest:
            return ModelRequest(
                model=c.model,
                messages=fit(messages, c.context, request.max_tokens),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                session_id=session_id,
                options=request.options,
                stream=request.stream,
            )

        def gone(records: tuple[AttemptRecord, ...]) -> None:
            self._record(request, route, turn_id, started, gone=records)

        routed = self.router.route(
            route, build, turn_id=turn_id, restartable=request.restartable, gone=gone
        )
        try:
            async with contextlib.aclosing(routed):
                async for event in routed:
                    if isinstance(event, TurnResult):
                        self._record(request, route, turn_id, started, result=event)
                        provider = event.model.partition("/")[0]
                        self.pools.served(conversation, provider, event.profile)
                        windows.after(self.pools, event.attempts)
                    yield event
        except RouteFailed as exc:
            self._record(request, route, turn_id, started, failed=exc)
            windows.after(self.pools, exc.attempts)
            raise TurnFailed(turn_id, exc) from None

    async def complete(self, request: TurnRequest) -> TurnResult:
        """The same turn, not streamed: the final result only."""
        async with contextlib.aclosing(self.stream(request)) as events:
            async for event in events:
                if isinstance(event, TurnResult):
                    return event
        raise AssertionError("a turn stream ends with a TurnResult or raises")  # pragma: no cover

    async def aclose(self) -> None:
        if isinstance(self.providers, Providers):
            await self.providers.aclose()

    def _record(
        self,
        request: TurnRequest,
        route: Plan,
        turn_id: str,
        started: float,
        *,
        result: TurnResult | None = None,
        failed: RouteFailed | None = None,
        gone: tuple[AttemptRecord, ...] | None = None,
    ) -> None:
        if self.state is None:
            return
        now = self.clock.now()
        record = turn_record(turn_id, route.requested, started, now, result, failed, gone)
        metrics.turn(record, result.usage if result else None, self.health.remembers)
        self.state.decisions.record(replace(record, session_key=request.session))
        if result is None:
            return
        self.state.usage.add(usage_record(turn_id, route.candidates, result, now))
        if request.session:
            answer = Message("assistant", result.text, tool_calls=result.tool_calls)
            new = [_stored(m) for m in (*request.messages, answer)]
            self.state.sessions.append(request.session, turn_id, new, now=now)


def conversation_key(request: TurnRequest, turn_id: str) -> str:
    """What keeps a conversation on one profile and its provider session id stable: the
    caller's named conversation, else its session, else the API's ``user``, else the turn
    itself (a Responses chain names its first turn as its conversation)."""
    if request.conversation:
        return request.conversation  # named by the gateway, in its own namespace
    if request.session:
        return f"session:{request.session}"
    if request.options.user:
        return f"user:{request.options.user}"
    return f"turn:{turn_id}"


class Answered(Protocol):
    """What a chat turn's result and an embeddings turn's have alike, for their records."""

    @property
    def model(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def fallback(self) -> bool: ...
    @property
    def usage(self) -> Usage | None: ...
    @property
    def attempts(self) -> tuple[AttemptRecord, ...]: ...


def turn_record(
    turn_id: str,
    requested: str | None,
    started: float,
    now: float,
    result: Answered | None,
    failed: RouteFailed | None,
    gone: tuple[AttemptRecord, ...] | None,
) -> TurnRecord:
    """The decision record of a turn that answered (``result``), failed (``failed``) or
    whose caller hung up (``gone``: the attempts made until then)."""
    if result is not None:
        outcome, failure, attempts = "succeeded", None, result.attempts
    elif failed is not None:
        outcome, failure, attempts = "failed", failed.code, failed.attempts
    else:
        outcome = "failed" if gone is None else CLIENT_GONE
        failure, attempts = (None, ()) if gone is None else (CLIENT_GONE, gone)
    return TurnRecord(
        turn_id=turn_id,
        session_key=None,
        requested=requested,
        started_at=started,
        ended_at=now,
        outcome=outcome,
        model=result.model if result else None,
        profile=result.profile if result else None,
        fallback=result.fallback if result else False,
        failure=failure,
        attempts=attempts,
    )


def usage_record(
    turn_id: str, candidates: Sequence[Candidate], result: Answered, now: float
) -> UsageRecord:
    """The usage row of an answered turn, billed as the candidate that answered."""
    provider, _, model = result.model.partition("/")
    answered = next(c for c in candidates if c.profile == result.profile)
    used = result.usage
    return UsageRecord(
        turn_id=turn_id,
        provider=provider,
        model=model,
        profile=result.profile,
        billing=answered.billing,
        input_tokens=used.input_tokens if used else None,
        output_tokens=used.output_tokens if used else None,
        cached_tokens=used.cached_tokens if used else None,
        reasoning_tokens=used.reasoning_tokens if used else None,
        at=now,
    )


def _stored(message: Message) -> StoredMessage:
    return StoredMessage(message.role, message.text, json.dumps(to_record(message)))


def _replayed(stored: StoredMessage) -> Message:
    if stored.body is None:  # written before whole messages were kept: text only
        return Message(stored.role, stored.content)  # type: ignore[arg-type]
    return from_record(json.loads(stored.body))


def needs(options: Options, messages: Sequence[Message]) -> frozenset[Capability]:
    """What a model must be able to do to take this turn (history included: a past tool call
    or image is sent again)."""
    found: set[Capability] = set()
    if options.tools or any(m.tool_calls or m.role == "tool" for m in messages):
        found.add("tools")
    if any(m.has_images for m in messages):
        found.add("image")
    if options.response_format is not None and options.response_format.type == "json_schema":
        found.add("json_schema")
    return frozenset(found)

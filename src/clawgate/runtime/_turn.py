"""One turn: walk the candidate chain, stream the first answer that starts, say who answered.

Before the first token reaches the caller a failure moves on to the next candidate unseen;
after it, the turn fails loudly rather than pass a cut answer off as complete (ROUTING.md,
"Streaming").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from clawgate.config import Settings
from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass
from clawgate.providers import (
    Completed,
    Message,
    ModelRequest,
    ProviderError,
    Providers,
    ProviderSource,
    TextDelta,
    Usage,
)
from clawgate.routing import Candidate, plan

# Failures that another model would meet just the same: stop instead of moving on.
_STOP = frozenset({FailureClass.BAD_REQUEST, FailureClass.CONTENT_FILTER})


@dataclass(frozen=True)
class TurnRequest:
    messages: tuple[Message, ...]
    model: str | None = None  # None: the configured default chain
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class Attempt:
    candidate: Candidate
    failure: FailureClass | None = None
    message: str | None = None


@dataclass(frozen=True)
class TurnResult:
    """The final event of a turn: who answered, what, and what was tried first."""

    turn_id: str
    model: str  # provider/model that answered
    profile: str
    fallback: bool
    text: str
    finish_reason: str
    usage: Usage | None
    attempts: tuple[Attempt, ...]


TurnEvent = TextDelta | TurnResult


class TurnFailed(ClawgateError):
    def __init__(
        self, message: str, *, failure: FailureClass, attempts: tuple[Attempt, ...], fix: str | None
    ) -> None:
        super().__init__(message, fix=fix)
        self.failure = failure
        self.attempts = attempts

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.failure.value


class Runtime:
    def __init__(self, settings: Settings, providers: ProviderSource | None = None) -> None:
        self.settings = settings
        self.providers = providers or Providers(settings.models.providers)

    async def stream(self, request: TurnRequest) -> AsyncIterator[TurnEvent]:
        turn_id = uuid.uuid4().hex
        chain = plan(self.settings, request.model)
        attempts: list[Attempt] = []
        last: ProviderError | None = None
        for candidate in chain:
            parts: list[str] = []
            try:
                provider = self.providers.get(candidate.provider)
                model_request = ModelRequest(
                    model=candidate.model,
                    messages=request.messages,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                )
                async for event in provider.stream(model_request):
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                        yield event
                    elif isinstance(event, Completed):
                        attempts.append(Attempt(candidate))
                        yield TurnResult(
                            turn_id=turn_id,
                            model=candidate.ref,
                            profile=candidate.profile,
                            fallback=candidate != chain[0],
                            text="".join(parts),
                            finish_reason=event.finish_reason,
                            usage=event.usage,
                            attempts=tuple(attempts),
                        )
                        return
                raise ProviderError(
                    FailureClass.STREAM_BROKEN, "the stream ended without a final event"
                )
            except ProviderError as exc:
                attempts.append(Attempt(candidate, exc.failure, exc.message))
                last = exc
                if parts:
                    raise TurnFailed(
                        f"{candidate.ref} broke off its answer: {exc.message}",
                        failure=FailureClass.STREAM_BROKEN,
                        attempts=tuple(attempts),
                        fix="ask again; the partial answer above is incomplete",
                    ) from None
                if exc.failure in _STOP:
                    break
        assert last is not None  # the chain is never empty; every attempt returns or fails
        tried = "; ".join(f"{a.candidate.ref}: {a.failure} ({a.message})" for a in attempts)
        raise TurnFailed(
            f"no model could answer. Tried {tried}",
            failure=last.failure,
            attempts=tuple(attempts),
            fix=last.fix,
        )

    async def complete(self, request: TurnRequest) -> TurnResult:
        """The same turn, not streamed: the final result only."""
        async for event in self.stream(request):
            if isinstance(event, TurnResult):
                return event
        raise AssertionError("a turn stream ends with a TurnResult or raises")  # pragma: no cover

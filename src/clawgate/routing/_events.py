"""A turn's events, as every caller sees them: who is answering, the provider's own content
events passed through unchanged, a restart when a broken answer is replaced, and the result.

The router yields these; the runtime records the result and passes them on; the gateway and
the terminal render them. Nobody re-wraps them on the way up.
"""

from __future__ import annotations

from dataclasses import dataclass

from clawgate.providers import Content, ToolCall, Usage
from clawgate.state import AttemptRecord

__all__ = ["Answering", "Restart", "TurnEvent", "TurnResult"]


@dataclass(frozen=True)
class Answering:
    """Who is answering, sent before its first content (an API sends it as headers)."""

    turn_id: str
    model: str  # provider/model
    profile: str
    fallback: bool  # not the plan's first candidate
    dropped: tuple[str, ...] = ()  # request options this candidate's wire could not send


@dataclass(frozen=True)
class Restart:
    """What the caller was shown is void; the next candidate's answer follows in full."""

    reason: str


@dataclass(frozen=True)
class TurnResult:
    """The final event of a turn: who answered, what, and every decision on the way."""

    turn_id: str
    model: str  # provider/model that answered
    profile: str
    fallback: bool
    text: str
    finish_reason: str
    usage: Usage | None
    attempts: tuple[AttemptRecord, ...]
    reported_model: str | None = None  # the model id the provider says it used
    tool_calls: tuple[ToolCall, ...] = ()  # the functions the model asked to call
    dropped: tuple[str, ...] = ()  # request options the answering wire could not send
    # The answer broke after content and this candidate continued it from this character
    # of ``text`` (docs/routing.md, "Resumable streams"); None when it was not resumed.
    resumed_at: int | None = None


TurnEvent = Answering | Content | Restart | TurnResult

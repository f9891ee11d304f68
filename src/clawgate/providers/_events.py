"""What goes into a provider and what comes out: one normalized shape for every provider.

A provider's stream is content events (today `TextDelta`; tool-call deltas and images join
here) and then exactly one `Completed`. Routing and the runtime pass these very objects on to
the channels; they add only the turn's own events (routing's ``_events``). `Phase` names how far
an answer has got, which is what failover may do about a failure (ROUTING.md, "Streaming").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal, TypeGuard

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ModelRequest:
    model: str  # the provider's own model id, without the "provider/" prefix
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True  # False: ask for one JSON answer (still yielded as events)
    session_id: str | None = None  # providers that key caches or limits by conversation


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Completed:
    """The terminal event: only a stream that really finished yields one."""

    finish_reason: str
    model: str
    usage: Usage | None = None
    request_id: str | None = None  # the provider's request id header, else its answer's id


@dataclass(frozen=True, slots=True)
class UsageWindow:
    used_percent: int
    window_seconds: int | None
    resets_at: float | None


@dataclass(frozen=True, slots=True)
class UsageWindows:
    """A subscription's rate-limit windows: primary is the 5-hour one, secondary the week."""

    plan: str | None
    primary: UsageWindow | None
    secondary: UsageWindow | None
    limit_reached: bool


# Part of the answer the caller sees. Every kind of content joins this union.
Content = TextDelta
StreamEvent = Content | Completed


def is_content(event: object) -> TypeGuard[Content]:
    return isinstance(event, TextDelta)


class Phase(Enum):
    """How far one attempt's answer has got."""

    NOT_STARTED = "not_started"  # nothing reached the caller: a failure moves on unseen
    STREAMING = "streaming"  # content reached the caller: it cannot be taken back
    FINISHED = "finished"  # the provider's terminal event arrived

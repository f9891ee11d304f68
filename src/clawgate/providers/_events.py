"""What goes into a provider and what comes out: one normalized shape for every provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


StreamEvent = TextDelta | Completed

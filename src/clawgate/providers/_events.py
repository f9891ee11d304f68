"""What comes out of a provider: one normalized stream of events for every provider (what goes
in is `_conversation`).

A provider's stream is content events (today `TextDelta`; tool-call deltas and images join
here) and then exactly one `Completed`. Routing and the runtime pass these very objects on to
the channels; they add only the turn's own events (routing's ``_events``). `Phase` names how far
an answer has got, which is what failover may do about a failure (docs/routing.md, "Streaming").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:  # imported where an answer is put together: `models status` needs no message
    from clawgate.providers._conversation import ToolCall


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of the ``index``-th tool call of the answer, as Chat Completions streams it:
    the first piece names ``id`` and ``name``, the rest add ``arguments`` text."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_tokens: int | None = None  # of the input, served from the provider's prompt cache
    reasoning_tokens: int | None = None  # of the output, spent on reasoning


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
Content = TextDelta | ToolCallDelta
StreamEvent = Content | Completed


def is_content(event: object) -> TypeGuard[Content]:
    return isinstance(event, TextDelta | ToolCallDelta)


class Answer:
    """An answer put together from its content events: the text, and each tool call from its
    pieces (by index, in the order they were first seen)."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index → [id, name, arguments…]

    def add(self, event: Content) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
            return
        call = self._calls.setdefault(event.index, ["", ""])
        call[0] = call[0] or event.id or ""
        call[1] = call[1] or event.name or ""
        call.append(event.arguments)

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        from clawgate.providers._conversation import ToolCall

        return tuple(
            ToolCall(id=c[0], name=c[1], arguments="".join(c[2:])) for c in self._calls.values()
        )


class Phase(Enum):
    """How far one attempt's answer has got."""

    NOT_STARTED = "not_started"  # nothing reached the caller: a failure moves on unseen
    STREAMING = "streaming"  # content reached the caller: it cannot be taken back
    FINISHED = "finished"  # the provider's terminal event arrived

"""What the wire tests (`test_chat_completions.py`, `test_responses.py`, `test_messages.py`)
share: the pictures and the weather tool's schema they send, and reading a call's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clawgate.providers import Answer, Completed, StreamEvent, is_content

PNG_BASE64 = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG = f"data:image/png;base64,{PNG_BASE64}"
PHOTO = "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
    "additionalProperties": False,
}


def answer(events: Sequence[StreamEvent]) -> Answer:
    """The text and tool calls that ``events`` add up to."""
    assembled = Answer()
    for event in events:
        if is_content(event):
            assembled.add(event)
    return assembled


def completed(events: Sequence[StreamEvent]) -> Completed:
    """The last of ``events``, which must be the call's `Completed`."""
    final = events[-1]
    assert isinstance(final, Completed)
    return final

"""Fitting a conversation into a model's context (``contextTokens``): keep the system
messages and as many of the newest messages as fit, leaving room for the answer.

Tokens are estimated (about four characters each, plus a little per message, and a flat cost
per image): a cap that is a little generous is caught by the provider as context overflow,
which routing handles. A tool result is never kept without the assistant message that asked
for it (every wire refuses an orphan).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from clawgate.providers import ImagePart, Message, Tool

__all__ = ["estimate_input", "estimate_tokens", "fit"]

_PER_MESSAGE = 4
# OpenAI bills a high-detail 1024x1024 image at 765 tokens; Anthropic about 1,600 for a
# large one. An estimate on the generous side keeps a turn from overflowing.
_PER_IMAGE = 1000
DEFAULT_RESERVE = 1024
_SYSTEM = ("system", "developer")


def estimate_tokens(message: Message) -> int:
    calls = sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
    images = sum(1 for p in message.parts if isinstance(p, ImagePart))
    return (len(message.text) + calls) // 4 + images * _PER_IMAGE + _PER_MESSAGE


def estimate_input(messages: Sequence[Message], tools: Sequence[Tool] = ()) -> int:
    """A turn's input, its messages and tool definitions, as `estimate_tokens` counts."""
    described = sum(
        len(t.name) + len(t.description or "") + len(json.dumps(t.parameters or {})) for t in tools
    )
    return sum(estimate_tokens(m) for m in messages) + described // 4


def fit(
    messages: Sequence[Message], context: int | None, max_tokens: int | None
) -> tuple[Message, ...]:
    if context is None:
        return tuple(messages)
    budget = context - (max_tokens or min(DEFAULT_RESERVE, context // 4))
    system = [m for m in messages if m.role in _SYSTEM]
    budget -= sum(estimate_tokens(m) for m in system)
    kept: list[Message] = []
    for message in reversed([m for m in messages if m.role not in _SYSTEM]):
        cost = estimate_tokens(message)
        if kept and cost > budget:
            break  # the newest message always goes, even alone: the provider judges it
        kept.append(message)
        budget -= cost
    kept.reverse()
    while len(kept) > 1 and kept[0].role == "tool":
        kept.pop(0)  # its assistant message was cut: the result cannot stand alone
    return (*system, *kept)

"""Fitting a conversation into a model's context (``contextTokens``): keep the system
messages and as many of the newest messages as fit, leaving room for the answer.

Tokens are estimated (about four characters each, plus a little per message): a cap that is
a little generous is caught by the provider as context overflow, which routing handles.
"""

from __future__ import annotations

from collections.abc import Sequence

from clawgate.providers import Message

__all__ = ["estimate_tokens", "fit"]

_PER_MESSAGE = 4
DEFAULT_RESERVE = 1024


def estimate_tokens(message: Message) -> int:
    return len(message.content) // 4 + _PER_MESSAGE


def fit(
    messages: Sequence[Message], context: int | None, max_tokens: int | None
) -> tuple[Message, ...]:
    if context is None:
        return tuple(messages)
    budget = context - (max_tokens or min(DEFAULT_RESERVE, context // 4))
    system = [m for m in messages if m.role == "system"]
    budget -= sum(estimate_tokens(m) for m in system)
    kept: list[Message] = []
    for message in reversed([m for m in messages if m.role != "system"]):
        cost = estimate_tokens(message)
        if kept and cost > budget:
            break  # the newest message always goes, even alone: the provider judges it
        kept.append(message)
        budget -= cost
    return (*system, *reversed(kept))

"""Resumable streams (docs/routing.md, "Resumable streams"): how a candidate is asked to
continue an answer that broke after part of it reached the caller, and how its continuation
is joined to what was sent without repeating it.

Two forms of asking: an **assistant prefill** (the partial answer as the start of the
assistant's turn, which the model carries on: Anthropic Messages documents it, "Prefill
Claude's response"), or, where a wire has no prefill, an **instruction** to continue exactly
where the quoted partial answer stops. Models asked either way sometimes repeat the end of
what they were given, or start over: `Joiner` holds back the continuation's first characters
until it can see how much of them repeats the partial answer, and drops that."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from clawgate.providers import Message, ModelRequest

__all__ = ["MIN_OVERLAP", "MIN_WORDS", "OVERLAP_WINDOW", "Form", "Joiner", "continuation"]

Form = Literal["prefill", "instruction"]

OVERLAP_WINDOW = 400  # characters of the partial answer a repeat is looked for in
MIN_OVERLAP = 8  # a shorter match is taken for chance, unless it is the whole partial answer
MIN_WORDS = 3  # or it starts a word of the partial answer (a model repeating its last words)

INSTRUCTION = (
    "Your previous answer was cut off. The part already delivered is quoted between the "
    "markers below. Continue exactly where it stops: write only the rest, without repeating "
    "any of it and without a preamble.\n<<<\n{sent}\n>>>"
)


def continuation(request: ModelRequest, sent: str, form: Form) -> ModelRequest:
    """``request`` asking for the rest of ``sent``."""
    if form == "prefill":
        # Anthropic refuses a final assistant turn that ends in whitespace; the model writes
        # the whitespace itself (`Joiner` keeps it from doubling).
        added = Message("assistant", sent.rstrip())
    else:
        added = Message("user", INSTRUCTION.format(sent=sent))
    return replace(request, messages=(*request.messages, added))


class Joiner:
    """The continuation's text as the caller should get it after ``sent``."""

    def __init__(self, sent: str) -> None:
        self.tail = sent[-OVERLAP_WINDOW:]
        self.whole = len(sent) <= OVERLAP_WINDOW  # a restart from the start can be seen
        self.space = sent[-1:].isspace()
        self.held = ""
        self.deciding = bool(sent)

    def feed(self, text: str) -> str:
        """What of ``text`` to pass on now ("" while the start is still held back)."""
        if not self.deciding:
            return text
        self.held += text
        if len(self.held) < len(self.tail) + 1:
            return ""
        return self.flush()

    def flush(self) -> str:
        """Everything held back, its repeat dropped (at the end of the continuation)."""
        if not self.deciding:
            return ""
        self.deciding = False
        held, self.held = self.held, ""
        cut = self._overlap(held)
        rest = held[cut:]
        if self.space:
            rest = rest.lstrip()  # the partial answer already ends in whitespace
        return rest

    def _overlap(self, held: str) -> int:
        """The length of the longest start of ``held`` that the partial answer ends with."""
        tail = self.tail
        for size in range(min(len(tail), len(held)), 0, -1):
            if tail.endswith(held[:size]):
                whole_words = size >= MIN_WORDS and not tail[-size - 1 : -size].isalnum()
                if size >= MIN_OVERLAP or whole_words or (self.whole and size == len(tail)):
                    return size
                return 0
        return 0

"""The answer while it streams: one message, edited at most once per ``interval`` seconds.

Telegram allows a bot about one message per second in a chat (Bot API FAQ, "My bot is
hitting limits"), edits included; a draft edited on every token would be throttled with 429s
and delay the answer itself. So the draft shows the text so far, plain (half-written Markdown
is not HTML yet), cut to one message; the final text replaces it (`finish`). A 429 on a draft
edit is not waited out: the draft just skips edits until Telegram's ``retry_after`` passed.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import RetryAfter, TelegramError

from clawgate.channels.telegram._render import MAX_CHARS, units
from clawgate.channels.telegram._send import Sender, retry_seconds
from clawgate.clock import Clock

__all__ = ["Draft"]

log = logging.getLogger("clawgate.channels.telegram")


class Draft:
    def __init__(
        self, sender: Sender, chat_id: int, clock: Clock, interval: float, **where: Any
    ) -> None:
        self.sender = sender
        self.chat_id = chat_id
        self.clock = clock
        self.interval = interval
        self.where = where
        self.text = ""  # the answer so far
        self.message_id: int | None = None
        self.shown = ""  # what the draft message shows now
        self.edits = 0  # sends and edits of the draft (bench, tests)
        self._next = float("-inf")  # monotonic time of the next allowed edit

    def add(self, delta: str) -> None:
        self.text += delta

    def restart(self) -> None:
        """The answer so far is void: the next edit shows the new one from its start."""
        self.text = ""

    @property
    def due(self) -> bool:
        return self.clock.monotonic() >= self._next and _preview(self.text) != self.shown

    async def update(self) -> None:
        """Show the text so far, if an edit is due."""
        if not self.due or not self.text.strip():
            return
        preview = _preview(self.text)
        self._next = self.clock.monotonic() + self.interval
        try:
            if self.message_id is None:
                sent = await self.sender.bot.send_message(self.chat_id, preview, **self.where)
                self.message_id = sent.message_id
            else:
                await self.sender.bot.edit_message_text(
                    preview, chat_id=self.chat_id, message_id=self.message_id
                )
        except RetryAfter as exc:
            self._next = self.clock.monotonic() + retry_seconds(exc)
            return
        except TelegramError as exc:  # a draft is a courtesy: the final message still comes
            log.info("draft not updated: %s", type(exc).__name__)
            return
        self.shown = preview
        self.edits += 1


def _preview(text: str) -> str:
    text = text.strip()
    if units(text) <= MAX_CHARS:
        return text
    cut = text[: MAX_CHARS - 2]
    while units(cut) > MAX_CHARS - 1:
        cut = cut[:-1]
    return cut + "…"

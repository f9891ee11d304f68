"""Sending to a chat the way the Bot API wants it.

- 429 Too Many Requests carries ``parameters.retry_after`` (Bot API, "ResponseParameters"):
  wait that long and send again; the message is delayed, never dropped.
- Network errors and 5xx back off (1, 2, 4, … s) a few times.
- A 400 on a message sent as HTML is taken as Telegram refusing its formatting (the Bot API
  says no more than "Bad Request: <words>"): the same part goes again as plain text, so a
  reply is never lost to its Markdown. A 400 on the plain text is a real error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from clawgate.channels.telegram._render import Part
from clawgate.channels.telegram._token import Sleep

__all__ = ["Sender", "retry_seconds"]

log = logging.getLogger("clawgate.channels.telegram")

T = TypeVar("T")
ATTEMPTS = 6
MAX_WAIT = 300.0  # a retry_after longer than this is not waited out for a chat reply


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 moves retry_after from int to timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    def __init__(self, bot: Bot, sleep: Sleep) -> None:
        self.bot = bot
        self.sleep = sleep
        self.flood_waits = 0  # how often a 429 was waited out (status)

    async def call(self, what: Callable[[], Awaitable[T]]) -> T:
        backoff = 1.0
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await what()
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                if wait > MAX_WAIT or attempt == ATTEMPTS:
                    raise
                self.flood_waits += 1
                log.info("Telegram asked to wait %.0f s (429); waiting", wait)
                await self.sleep(wait)
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt == ATTEMPTS:
                    raise
                log.info("Bot API call failed (%s); again in %.0f s", type(exc).__name__, backoff)
                await self.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, chat_id: int, part: Part, **where: Any) -> Message:
        """``part`` as HTML, or as its plain text when Telegram refuses the HTML."""
        try:
            return await self.call(
                lambda: self.bot.send_message(chat_id, part.html, parse_mode="HTML", **where)
            )
        except BadRequest as exc:
            log.warning("Telegram refused a reply's formatting (%s); sent as plain text", exc)
            return await self.send_plain(chat_id, part.plain, **where)

    async def send_plain(self, chat_id: int, text: str, **where: Any) -> Message:
        return await self.call(lambda: self.bot.send_message(chat_id, text, **where))

    async def edit(self, chat_id: int, message_id: int, part: Part, *, shown: str) -> None:
        """Make message ``message_id`` (showing ``shown``) say ``part``."""
        try:
            await self.call(
                lambda: self.bot.edit_message_text(
                    part.html, chat_id=chat_id, message_id=message_id, parse_mode="HTML"
                )
            )
            return
        except BadRequest as exc:
            log.warning("Telegram refused a reply's formatting (%s); edited as plain text", exc)
        if part.plain != shown:  # else it shows that text already ("message is not modified")
            await self.edit_plain(chat_id, message_id, part.plain)

    async def edit_plain(self, chat_id: int, message_id: int, text: str) -> None:
        await self.call(
            lambda: self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        )

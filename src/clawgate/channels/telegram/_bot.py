"""The Bot API client (python-telegram-bot's `Bot`), pointed at ``apiRoot``, and the getMe
check of a token; the token itself is `_token`'s."""

from __future__ import annotations

import logging
import re

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from clawgate.channels.telegram._token import BotIdentity, ChannelError, redact
from clawgate.config import TelegramSettings
from clawgate.secret import Secret

__all__ = ["HideToken", "check_token", "make_bot"]


# httpx logs each request's URL at INFO ("HTTP Request: POST https://…/bot<token>/getMe");
# the Bot API puts the token in the path, so that line is rewritten wherever it is logged.
_URL_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class HideToken(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _URL_TOKEN.search(text):
            record.msg, record.args = _URL_TOKEN.sub("/bot<token>", text), ()
        return True


def _hide_tokens_in_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, HideToken) for f in logger.filters):
        logger.addFilter(HideToken())


def make_bot(settings: TelegramSettings, token: Secret, *, read_timeout: float = 10) -> Bot:
    """A Bot API client on ``apiRoot``; getUpdates gets its own connection and a read
    timeout past the long poll's."""
    _hide_tokens_in_httpx_logs()
    root = settings.api_root.rstrip("/")
    return Bot(
        token.reveal(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=HTTPXRequest(connection_pool_size=8, read_timeout=read_timeout),
        get_updates_request=HTTPXRequest(
            connection_pool_size=1, read_timeout=settings.poll_timeout + 10
        ),
    )


async def check_token(settings: TelegramSettings, token: Secret) -> BotIdentity:
    """Ask the Bot API who the token belongs to (getMe)."""
    bot = make_bot(settings, token)
    try:
        async with bot:  # initialize() calls getMe
            me = bot.bot
    except InvalidToken:
        raise ChannelError(
            "Telegram refused the token (401 Unauthorized)",
            fix="make a new token with @BotFather (/token) and add it again",
        ) from None
    except NetworkError as exc:
        raise ChannelError(
            f"cannot reach the Bot API at {settings.api_root}: {redact(str(exc), token)}",
            fix="check the network, or channels.telegram.apiRoot in the config",
        ) from None
    except TelegramError as exc:
        raise ChannelError(
            f"the Bot API refused getMe: {redact(str(exc), token)}",
            fix="check the token with @BotFather",
        ) from None
    return BotIdentity(me.id, me.username or "", me.full_name)

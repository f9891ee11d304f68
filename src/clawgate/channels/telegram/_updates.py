"""One Bot API update read into what the channel acts on, or None for what it ignores.

Updates arrive as JSON from a server (Telegram, or whoever holds the webhook URL); anything
malformed or of a kind the channel does not serve is skipped with a log line, never raised.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, Message, MessageEntity, Update

from clawgate.channels.telegram._incoming import Incoming

__all__ = ["read_update"]

log = logging.getLogger("clawgate.channels.telegram")


_MEDIA = (
    ("voice", "a voice message"),
    ("audio", "audio"),
    ("video", "a video"),
    ("video_note", "a video message"),
    ("document", "a file"),
    ("sticker", "a sticker"),
    ("animation", "an animation"),
    ("location", "a location"),
    ("contact", "a contact"),
    ("poll", "a poll"),
)


def read_update(data: dict[str, Any], bot: Bot) -> Incoming | None:
    try:
        update = Update.de_json(data, bot)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("skipped a malformed update: %s", type(exc).__name__)
        return None
    message = update.message if update else None
    if update is None or message is None or message.from_user is None:
        return None  # edits, channel posts, callbacks…: not a turn
    if message.from_user.is_bot:
        return None
    text = message.text or message.caption or ""
    command, args = _command(message, text, bot)
    other = next((what for attr, what in _MEDIA if getattr(message, attr, None)), None)
    return Incoming(
        update_id=update.update_id,
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        user_id=message.from_user.id,
        user_name=message.from_user.full_name or message.from_user.username,
        message_id=message.message_id,
        text=text,
        photo=message.photo[-1].file_id if message.photo else None,
        other_media=other,
        addressed=message.chat.type == "private" or _addressed(message, text, bot),
        command=command,
        args=args,
    )


def _me(bot: Bot) -> tuple[int | None, str]:
    """The bot's id and lower-case username (getMe's, cached by ``initialize``)."""
    try:
        return bot.id, (bot.username or "").lower()
    except RuntimeError:  # not initialized: nothing can be addressed to it
        return None, ""


def _username(bot: Bot) -> str:
    return _me(bot)[1]


def _addressed(message: Message, text: str, bot: Bot) -> bool:
    """Mentioned by @username, or a reply to one of the bot's own messages."""
    reply = message.reply_to_message
    bot_id, name = _me(bot)
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    if not name:
        return False
    entities = message.entities or message.caption_entities or ()
    for entity in entities:
        if entity.type == MessageEntity.MENTION:
            mention = text[entity.offset : entity.offset + entity.length]
            if mention.lower() == f"@{name}":
                return True
    return f"@{name}" in text.lower()


def _command(message: Message, text: str, bot: Bot) -> tuple[str | None, str]:
    if not text.startswith("/"):
        return None, ""
    head, _, args = text.partition(" ")
    name, _, target = head[1:].partition("@")
    if target and target.lower() != _username(bot):
        return None, ""  # a command for another bot in the group
    if not name.isascii() or not name.replace("_", "").isalnum():
        return None, ""
    return name.lower(), args.strip()

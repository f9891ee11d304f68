"""The Telegram channel (python-telegram-bot's Bot API client, our own update loop): setup
for the CLI, and `TelegramHost`, which runs it inside the gateway. Importing this face does
not import python-telegram-bot (`_token`)."""

from clawgate.channels.telegram._host import GRACE, TelegramHost
from clawgate.channels.telegram._pairing import CODE_TTL, MAX_CODES, PairingError
from clawgate.channels.telegram._render import MAX_CHARS, Part, render
from clawgate.channels.telegram._setup import (
    Overview,
    add,
    allow,
    deny,
    overview,
    pair,
    remove,
)
from clawgate.channels.telegram._token import TOKEN_PROFILE, BotIdentity, ChannelError, read_token

__all__ = [
    "CODE_TTL",
    "GRACE",
    "MAX_CHARS",
    "MAX_CODES",
    "TOKEN_PROFILE",
    "BotIdentity",
    "ChannelError",
    "Overview",
    "PairingError",
    "Part",
    "TelegramHost",
    "add",
    "allow",
    "deny",
    "overview",
    "pair",
    "read_token",
    "remove",
    "render",
]

"""What every part of a running channel shares: the bot, the way to send, the state, time,
and the gateway's runtime (leased per turn, so a config reload never cuts one short)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot

from clawgate.channels.telegram._send import Sender
from clawgate.channels.telegram._token import Leaser, Sleep
from clawgate.clock import Clock
from clawgate.state import TelegramStore

__all__ = ["Context"]


@dataclass
class Context:
    bot: Bot
    sender: Sender
    store: TelegramStore
    clock: Clock
    sleep: Sleep
    lease: Leaser
    draft_interval: float = 1.0
    typing_every: float = 4.5  # a chat action shows for about 5 s (Bot API, sendChatAction)
    turns: int = 0  # answered since start (status)
    failures: int = 0

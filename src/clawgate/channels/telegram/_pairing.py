"""Who may talk to the bot, and pairing: how a stranger becomes allowed.

A stranger who writes to the bot in a private chat gets one message with a short code and
nothing else (no model is called); the owner approves it with
``clawgate channels telegram pair CODE``. A code lives an hour and is used once; a user gets
at most `MAX_CODES` a day, and no second code while one is still open, so writing again does
not make the bot talk. The first user approved (by code or ``allow``) is the owner.

Groups never pair: a group is allowed in the config (``channels.telegram.groups``) or with
``allow -100…``, and then the bot answers there only when it is mentioned or replied to.
"""

from __future__ import annotations

import secrets
from typing import Literal

from clawgate.channels.telegram._incoming import Incoming
from clawgate.config import TelegramSettings
from clawgate.errors import ClawgateError
from clawgate.state import ChatAccess, Pairing, TelegramStore

__all__ = [
    "CODE_TTL",
    "MAX_CODES",
    "PairingError",
    "admit",
    "approve",
    "offer_code",
    "pairing_text",
]

CODE_TTL = 3600.0
MAX_CODES = 3  # per user and day
CODE_LENGTH = 8
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed

Verdict = Literal["answer", "pair", "ignore"]


class PairingError(ClawgateError):
    code = "bad_request"
    exit_code = 2


def admit(store: TelegramStore, settings: TelegramSettings, inc: Incoming) -> Verdict:
    """Whether to answer ``inc``, offer its sender a code, or say nothing."""
    user = store.access(inc.user_id) if inc.user_id is not None else None
    if user is not None and user.role == "denied":
        return "ignore"
    if inc.group:
        group = store.access(inc.chat_id)
        if group is not None and group.role == "denied":
            return "ignore"  # `deny` wins over the config's groups
        allowed = group is not None or inc.chat_id in settings.groups
        return "answer" if allowed and inc.addressed else "ignore"
    if inc.chat_type != "private":
        return "ignore"
    if user is not None or _configured(settings, inc):
        return "answer"
    return "pair"


def _configured(settings: TelegramSettings, inc: Incoming) -> bool:
    numeric = (e for e in settings.allow_from if isinstance(e, int) or e.lstrip("-").isdigit())
    return any(int(entry) == inc.user_id for entry in numeric)


def offer_code(store: TelegramStore, inc: Incoming, *, now: float) -> str | None:
    """A new code for the sender, or None when one is open or the day's are used up."""
    assert inc.user_id is not None
    recent = store.codes_since(inc.user_id, now - 86400)
    if any(p.used_at is None and p.expires_at > now for p in recent) or len(recent) >= MAX_CODES:
        return None
    code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    store.add_code(
        Pairing(code, inc.user_id, inc.chat_id, inc.user_name, now, now + CODE_TTL, None)
    )
    return code


def pairing_text(code: str) -> str:
    return (
        "Hi! This is a private assistant. To talk to it, its owner approves you with:\n"
        f"clawgate channels telegram pair {code}\n"
        "(the code works once, for an hour)"
    )


def approve(store: TelegramStore, raw: str, *, now: float) -> ChatAccess:
    """Allow the user a pairing code was given to."""
    code = raw.strip().upper()
    found, state = store.use_code(code, now=now)
    if found is None or state == "unknown":
        raise PairingError(
            f"no pairing code {code!r}",
            fix="use the code the bot sent (clawgate channels telegram list shows open ones)",
        )
    if state != "ok":
        raise PairingError(
            f"pairing code {code} {'was used already' if state == 'used' else 'has expired'}",
            fix="ask the person to write to the bot again for a new code",
        )
    return store.allow(found.user_id, found.name, now=now)

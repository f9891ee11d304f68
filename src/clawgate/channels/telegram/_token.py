"""The bot's token: the vault profile ``telegram:default`` (an API key of provider
``telegram``), never the config. Every Bot API request carries it in its URL path
(``/bot<token>/<method>``), so no error text from the client leaves this package before
`redact` took it out.

This module (like the package's face) does not import python-telegram-bot: it takes about
0.4 s to import, which only a gateway that runs the channel pays, not every CLI command.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from clawgate.errors import ClawgateError
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, Vault, VaultError

if TYPE_CHECKING:
    from clawgate.runtime import Runtime

__all__ = [
    "TOKEN_PROFILE",
    "BotIdentity",
    "ChannelError",
    "Hold",
    "Leaser",
    "Sleep",
    "check_shape",
    "read_token",
    "redact",
    "remove_token",
    "store_token",
]

TOKEN_PROFILE = "telegram:default"  # noqa: S105 (a profile id, not a secret)
_PROVIDER = "telegram"
# BotFather's tokens: the bot's numeric id, a colon, 35 URL-safe characters (Bot API docs,
# "Authorizing your bot"); checked loosely so that a test server's tokens pass too.
_TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,200}")

Sleep = Callable[[float], Awaitable[object]]


class Hold(Protocol):
    """A runtime held for one turn (`clawgate.gateway.Lease`)."""

    async def __aenter__(self) -> Runtime: ...
    async def __aexit__(self, *exc: object) -> None: ...


Leaser = Callable[[], Awaitable[Hold]]


class ChannelError(ClawgateError):
    code = "bad_request"
    exit_code = 2


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str
    name: str


def redact(text: str, token: Secret | None) -> str:
    """``text`` with the token (wherever a client error put it) replaced."""
    if token is None or not token.reveal():
        return text
    return text.replace(token.reveal(), "<token>")


def read_token(vault: Vault) -> Secret | None:
    """The stored bot token, or None when there is none (or it cannot be read)."""
    if not vault.exists(TOKEN_PROFILE):
        return None
    try:
        material = vault.load(TOKEN_PROFILE).material
    except VaultError:
        return None
    return material.key if isinstance(material, ApiKeyMaterial) else None


def check_shape(raw: str) -> Secret:
    token = raw.strip()
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ChannelError(
            "that is not a bot token: BotFather's look like 123456789:AAF… (digits, a colon, "
            "letters, digits, - and _)",
            fix="copy the token from @BotFather's message and pipe it to "
            "`clawgate channels telegram add --token-stdin`",
        )
    return Secret(token)


def store_token(vault: Vault, token: Secret) -> None:
    vault.save(TOKEN_PROFILE, _PROVIDER, ApiKeyMaterial(token))


def remove_token(vault: Vault) -> bool:
    return vault.delete(TOKEN_PROFILE)

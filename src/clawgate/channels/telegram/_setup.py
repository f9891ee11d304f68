"""What ``clawgate channels telegram …`` does, without the gateway: the token in the vault,
the config switch, pairing approvals and the allowlist in ``state.db``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawgate.channels.telegram._pairing import approve
from clawgate.channels.telegram._token import (
    BotIdentity,
    check_shape,
    read_token,
    remove_token,
    store_token,
)
from clawgate.clock import Clock
from clawgate.config import TelegramSettings, edit_config
from clawgate.state import ChatAccess, Pairing, TelegramStore
from clawgate.vault import Vault

__all__ = ["Overview", "add", "allow", "deny", "overview", "pair", "remove"]


async def add(
    vault: Vault,
    settings: TelegramSettings,
    config_file: Path,
    env: Mapping[str, str],
    raw_token: str,
) -> BotIdentity:
    """Check the token with getMe, store it, and turn the channel on in the config."""
    from clawgate.channels.telegram._bot import check_token  # loads the Bot API client (_token)

    token = check_shape(raw_token)
    identity = await check_token(settings, token)
    store_token(vault, token)

    def enable(document: dict[str, Any]) -> None:
        channels = document.setdefault("channels", {})
        channels.setdefault("telegram", {})["enabled"] = True

    edit_config(config_file, env, enable)
    return identity


def remove(vault: Vault, config_file: Path, env: Mapping[str, str]) -> bool:
    """Delete the token and turn the channel off; whether a token was stored."""

    def disable(document: dict[str, Any]) -> None:
        telegram = document.get("channels", {}).get("telegram")
        if isinstance(telegram, dict) and telegram.get("enabled"):
            telegram["enabled"] = False

    if config_file.exists():
        edit_config(config_file, env, disable)
    return remove_token(vault)


def pair(store: TelegramStore, code: str, clock: Clock) -> ChatAccess:
    return approve(store, code, now=clock.now())


def allow(store: TelegramStore, chat_id: int, clock: Clock) -> ChatAccess:
    return store.allow(chat_id, None, now=clock.now())


def deny(store: TelegramStore, chat_id: int, clock: Clock) -> None:
    store.deny(chat_id, now=clock.now())


@dataclass(frozen=True)
class Overview:
    enabled: bool
    token_stored: bool
    api_root: str
    mode: str
    access: list[ChatAccess]
    codes: list[Pairing]  # open pairing codes
    offset: int

    def to_json(self) -> dict[str, Any]:
        owner = next((a.chat_id for a in self.access if a.role == "owner"), None)
        return {
            "enabled": self.enabled,
            "tokenStored": self.token_stored,
            "apiRoot": self.api_root,
            "mode": self.mode,
            "owner": owner,
            "access": [
                {"id": a.chat_id, "role": a.role, "name": a.name, "since": a.added_at}
                for a in self.access
            ],
            "pendingCodes": [
                {"user": p.user_id, "name": p.name, "expiresAt": p.expires_at} for p in self.codes
            ],
            "offset": self.offset,
        }


def overview(
    vault: Vault, settings: TelegramSettings, store: TelegramStore, clock: Clock
) -> Overview:
    return Overview(
        enabled=settings.enabled,
        token_stored=read_token(vault) is not None,
        api_root=settings.api_root,
        mode=settings.mode,
        access=store.everyone(),
        codes=store.pending_codes(clock.now()),
        offset=store.offset(),
    )

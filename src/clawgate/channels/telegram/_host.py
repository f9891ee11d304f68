"""The channel inside the gateway: started when ``channels.telegram.enabled`` and a token is
stored, restarted when its settings or token change (a live config reload, or
``channels telegram add`` telling the gateway), stopped when disabled or at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from clawgate.channels.telegram._token import Leaser, Sleep, read_token
from clawgate.clock import Clock, SystemClock
from clawgate.config import TelegramSettings
from clawgate.secret import Secret
from clawgate.state import TelegramStore
from clawgate.vault import Vault

if TYPE_CHECKING:
    from clawgate.channels.telegram._channel import TelegramChannel

__all__ = ["GRACE", "TelegramHost"]

log = logging.getLogger("clawgate.channels.telegram")

GRACE = 20.0  # seconds running turns get to finish when the channel stops
WEBHOOK_SECRET = "telegram-webhook"  # noqa: S105 (the vault secret's name)
NO_TOKEN_FIX = "store the bot's token: clawgate channels telegram add --token-stdin"  # noqa: S105


class TelegramHost:
    def __init__(
        self,
        *,
        vault: Vault,
        store: TelegramStore,
        lease: Leaser,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        refresh: Callable[[], Awaitable[object]] | None = None,
        grace: float = GRACE,
    ) -> None:
        self.vault = vault
        self.store = store
        self.lease = lease
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self.refresh = refresh
        self.grace = grace
        self.channel: TelegramChannel | None = None
        self.settings: TelegramSettings | None = None
        self._token: Secret | None = None
        self._change: asyncio.Task[None] | None = None

    def apply(self, settings: TelegramSettings) -> None:
        """Make the running channel match ``settings`` and the stored token (in a task: the
        caller may be the channel's own loop, reloading the config)."""
        token = read_token(self.vault) if settings.enabled else None
        if settings == self.settings and token == self._token:
            return
        idle = self.channel is None and (self._change is None or self._change.done())
        if idle and (not settings.enabled or token is None):
            self.settings, self._token = settings, token  # nothing runs, nothing to start
            return
        self.settings, self._token = settings, token
        previous = self._change
        self._change = asyncio.create_task(self._switch(previous, settings, token))

    async def _switch(
        self,
        previous: asyncio.Task[None] | None,
        settings: TelegramSettings,
        token: Secret | None,
    ) -> None:
        if previous is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await previous
        old, self.channel = self.channel, None
        if old is not None:
            # Stopped before the new one polls: two pollers on one token get 409s.
            await old.stop(self.grace)
        if not settings.enabled or token is None:
            return
        # Imported here: python-telegram-bot is only loaded by a gateway that runs the channel.
        from clawgate.channels.telegram._channel import TelegramChannel

        channel = TelegramChannel(
            settings,
            token,
            store=self.store,
            lease=self.lease,
            clock=self.clock,
            sleep=self.sleep,
            refresh=self.refresh,
            webhook_secret=self._webhook_secret() if settings.mode == "webhook" else None,
        )
        self.channel = channel
        channel.start()

    def _webhook_secret(self) -> Secret:
        # Bot API setWebhook: secret_token is 1-256 characters of A-Z a-z 0-9 _ -.
        return self.vault.ensure_secret(WEBHOOK_SECRET, lambda: Secret(secrets.token_urlsafe(48)))

    def webhook(self, given: str | None, data: object) -> int:
        """A webhook request: its HTTP status (200 once the update is stored)."""
        channel = self.channel
        if channel is None or channel.settings.mode != "webhook" or not channel.webhook_secret:
            return 404
        expected = channel.webhook_secret.reveal().encode()
        if given is None or not hmac.compare_digest(given.encode(), expected):
            return 401
        return 200 if channel.pushed(data) else 400

    async def aclose(self) -> None:
        if self._change is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._change
        if self.channel is not None:
            await self.channel.stop(self.grace)
            self.channel = None

    def status(self) -> dict[str, Any]:
        if self.channel is not None:
            return self.channel.status()
        settings = self.settings
        if settings is None or not settings.enabled:
            return {"enabled": False, "state": "disabled"}
        if self._token is None:
            return {"enabled": True, "state": "no_token", "fix": NO_TOKEN_FIX}
        return {"enabled": True, "state": "starting"}

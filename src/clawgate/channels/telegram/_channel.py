"""A running Telegram channel: the update loop, one queue per chat, and its status.

Polling (Bot API ``getUpdates``), with the failures OpenClaw's users hit handled:

- ``409 Conflict`` means another client polls (or a webhook holds) this token: polling stops
  at once, the status says ``conflict`` with the fix, and nothing retries it; a bot that kept
  retrying would fight the other instance until Telegram disables it.
- ``429`` waits ``retry_after``; network errors back off 1, 2, 4 … 60 s (status
  ``reconnecting``); a refused token stops with ``unauthorized``.
- The raw updates are read here (not parsed by the library: one malformed update would fail
  the whole batch again and again) and stored in ``state.db`` with the offset before they
  are handled, so a restart neither loses nor answers them twice (`TelegramStore.receive`).

Each chat (forum topic) has its own queue: its messages are answered in order, while other
chats go on; ``/stop`` cancels the chat's running turn. `stop` lets running turns finish
within a grace period and then cancels them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from clawgate.channels.telegram._bot import make_bot
from clawgate.channels.telegram._commands import COMMANDS, run_command, session_key
from clawgate.channels.telegram._context import Context
from clawgate.channels.telegram._incoming import Incoming
from clawgate.channels.telegram._pairing import admit, offer_code, pairing_text
from clawgate.channels.telegram._send import Sender, retry_seconds
from clawgate.channels.telegram._token import BotIdentity, Leaser, Sleep, redact
from clawgate.channels.telegram._turn import run_turn, where
from clawgate.channels.telegram._updates import read_update
from clawgate.clock import Clock
from clawgate.config import TelegramSettings
from clawgate.secret import Secret
from clawgate.state import TelegramStore

__all__ = ["CONFLICT_FIX", "TelegramChannel"]

log = logging.getLogger("clawgate.channels.telegram")

CONFLICT_FIX = (
    "stop the other program that uses this bot token (another gateway, or a webhook set "
    "elsewhere), then restart: clawgate gateway restart"
)
MAX_BACKOFF = 60.0
KEEP_DONE = 7 * 86400.0  # seconds an answered update's id stays in the inbox


class TelegramChannel:
    def __init__(
        self,
        settings: TelegramSettings,
        token: Secret,
        *,
        store: TelegramStore,
        lease: Leaser,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        refresh: Callable[[], Awaitable[object]] | None = None,
        webhook_secret: Secret | None = None,
    ) -> None:
        self.settings = settings
        self.webhook_secret = webhook_secret
        self.token = token
        self.bot = make_bot(settings, token)
        self.ctx = Context(
            self.bot,
            Sender(self.bot, sleep),
            store,
            clock,
            sleep,
            lease,
            draft_interval=settings.draft_interval,
        )
        self.refresh = refresh
        self.state = "starting"  # connected | reconnecting | conflict | unauthorized | stopped
        self.detail: str | None = None
        self.fix: str | None = None
        self.identity: BotIdentity | None = None
        self._loop: asyncio.Task[None] | None = None
        self._tails: dict[str, asyncio.Task[None]] = {}  # each chat's last queued job
        self._turns: dict[str, asyncio.Task[None]] = {}  # each chat's running turn
        self._jobs: set[asyncio.Task[None]] = set()
        self._dispatched: set[int] = set()

    # Lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="telegram-poll")

    async def stop(self, grace: float) -> None:
        """Stop polling; let running turns finish for ``grace`` seconds, then cancel them."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._jobs:
            _, late = await asyncio.wait(set(self._jobs), timeout=grace)
            for job in late:
                job.cancel()
            if late:
                log.warning("cancelled %d Telegram turn(s) at shutdown", len(late))
                await asyncio.wait(late, timeout=5)
        if self.state not in ("conflict", "unauthorized"):
            self._set("stopped")
        with contextlib.suppress(Exception):
            await self.bot.shutdown()

    def status(self) -> dict[str, Any]:
        store = self.ctx.store
        owner = store.owner()
        return {
            "enabled": True,
            "state": self.state,
            "detail": self.detail,
            "fix": self.fix,
            "mode": self.settings.mode,
            "bot": self.identity.username if self.identity else None,
            "owner": owner.chat_id if owner else None,
            "allowed": len([a for a in store.everyone() if a.role != "denied"]),
            "offset": store.offset(),
            "answered": self.ctx.turns,
            "failed": self.ctx.failures,
            "running": len(self._turns),
            "floodWaits": self.ctx.sender.flood_waits,
        }

    def _set(self, state: str, detail: str | None = None, fix: str | None = None) -> None:
        if state != self.state:
            log.info("telegram channel: %s%s", state, f" ({detail})" if detail else "")
        self.state, self.detail, self.fix = state, detail, fix

    # The update loop --------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if not await self._connect():
                return
            self.ctx.store.forget_done(before=self.ctx.clock.now() - KEEP_DONE)
            for pending in self.ctx.store.pending():  # fetched before a restart, not answered
                self.dispatch(json.loads(pending.body))
            if self.settings.mode == "webhook":
                self._set("connected")
                await asyncio.Future()  # updates arrive through `pushed` until stopped
            await self._poll()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never take the gateway down with it
            log.error("telegram channel failed: %s", redact(repr(exc), self.token))
            self._set("error", redact(str(exc), self.token), "see the gateway's log")

    async def _connect(self) -> bool:
        backoff = 1.0
        while True:
            try:
                await self.bot.initialize()
                me = self.bot.bot
                self.identity = BotIdentity(me.id, me.username or "", me.full_name)
                if self.settings.mode == "polling":
                    await self.bot.delete_webhook()  # getUpdates is refused while one is set
                else:
                    await self._set_webhook()
                return True
            except (InvalidToken, Forbidden):
                self._set(
                    "unauthorized",
                    "Telegram refused the bot token",
                    "add a new token: clawgate channels telegram add --token-stdin",
                )
                return False
            except RetryAfter as exc:
                await self.ctx.sleep(retry_seconds(exc))
            except NetworkError as exc:
                self._set("reconnecting", redact(str(exc), self.token))
                await self.ctx.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _set_webhook(self) -> None:
        """Bot API setWebhook: Telegram POSTs each update to ``url`` with the secret in
        ``X-Telegram-Bot-Api-Secret-Token`` (checked by `pushed`'s caller)."""
        hook = self.settings.webhook
        if hook is None or self.webhook_secret is None:
            raise ValueError("webhook mode needs channels.telegram.webhook.url")
        await self.bot.set_webhook(
            hook.url,
            secret_token=self.webhook_secret.reveal(),
            allowed_updates=["message"],
        )

    def pushed(self, data: object) -> bool:
        """One update a webhook request brought: stored, then handled like a polled one;
        False when it is not an update."""
        updates = _well_formed([data])
        if not updates:
            return False
        new = self.ctx.store.receive(
            [(uid, json.dumps(body)) for uid, body in updates], now=self.ctx.clock.now()
        )
        for uid, body in updates:
            if uid in new:
                self.dispatch(body)
        return True

    async def _poll(self) -> None:
        backoff = 1.0
        while True:
            if self.refresh is not None:
                await self.refresh()  # a live config reload, as an HTTP request would
            offset = self.ctx.store.offset()
            try:
                raw = await self.bot.do_api_request(
                    "getUpdates",
                    api_kwargs={
                        "offset": offset or None,
                        "timeout": int(self.settings.poll_timeout),
                        "allowed_updates": ["message"],
                    },
                    read_timeout=self.settings.poll_timeout + 10,
                )
            except Conflict:
                log.error("telegram: 409 Conflict on getUpdates: polling stopped")
                self._set(
                    "conflict",
                    "another program takes this bot's updates (409 Conflict)",
                    CONFLICT_FIX,
                )
                return
            except (InvalidToken, Forbidden):
                self._set(
                    "unauthorized",
                    "Telegram refused the bot token",
                    "add a new token: clawgate channels telegram add --token-stdin",
                )
                return
            except RetryAfter as exc:
                await self.ctx.sleep(retry_seconds(exc))
                continue
            except NetworkError as exc:
                self._set("reconnecting", redact(str(exc), self.token))
                await self.ctx.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self._set("connected")
            updates = _well_formed(raw)
            new = self.ctx.store.receive(
                [(uid, json.dumps(body)) for uid, body in updates], now=self.ctx.clock.now()
            )
            fresh = set(new)
            for uid, body in updates:
                if uid in fresh:
                    self.dispatch(body)
            if not updates and self.settings.poll_interval:
                await self.ctx.sleep(self.settings.poll_interval)

    # Handling one update ----------------------------------------------------------------

    def dispatch(self, data: dict[str, Any]) -> None:
        """Queue one stored update (its chat's queue); it is marked done when handled."""
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or update_id in self._dispatched:
            return
        self._dispatched.add(update_id)
        inc = read_update(data, self.bot)
        if inc is None:
            self._done(update_id)
            return
        if inc.command == "stop":
            self._spawn(self._stop_turn(inc), inc.update_id)
            return
        if inc.command in COMMANDS:
            name = inc.command
            self._spawn(self._guarded(inc, lambda: run_command(self.ctx, inc, name)), update_id)
            return
        epoch, pin = self.ctx.store.chat(inc.chat_key)
        previous = self._tails.get(inc.chat_key)
        job = self._spawn(self._in_turn(inc, session_key(inc, epoch), pin, previous), update_id)
        self._tails[inc.chat_key] = job
        job.add_done_callback(lambda done: self._forget_tail(inc.chat_key, done))

    def _forget_tail(self, chat_key: str, job: asyncio.Task[None]) -> None:
        if self._tails.get(chat_key) is job:
            del self._tails[chat_key]

    def _spawn(self, work: Awaitable[None], update_id: int) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged and skipped: one update never stops the rest
                log.error("telegram update %d failed: %s", update_id, redact(repr(exc), self.token))
            finally:
                self._done(update_id)

        job = asyncio.create_task(run())
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        return job

    def _done(self, update_id: int) -> None:
        self.ctx.store.done(update_id, now=self.ctx.clock.now())
        self._dispatched.discard(update_id)  # the store dedupes from here on

    async def _guarded(self, inc: Incoming, work: Callable[[], Awaitable[None]]) -> None:
        verdict = admit(self.ctx.store, self.settings, inc)
        if verdict == "answer":
            await work()
        elif verdict == "pair":
            await self._offer(inc)

    async def _in_turn(
        self, inc: Incoming, session: str, pin: str | None, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # this chat's earlier messages first
        verdict = admit(self.ctx.store, self.settings, inc)
        if verdict == "pair":
            await self._offer(inc)
            return
        if verdict == "ignore":
            return
        if inc.other_media and not inc.photo:
            await self.ctx.sender.send_plain(
                inc.chat_id,
                f"I cannot read {inc.other_media}: send text, or a photo (with a caption).",
                **where(inc),
            )
            return
        if not inc.text.strip() and not inc.photo:
            return
        turn = asyncio.create_task(run_turn(self.ctx, inc, session, pin))
        self._turns[inc.chat_key] = turn
        try:
            await turn
        except asyncio.CancelledError:
            if not turn.cancelled():
                raise
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the channel is stopping, not /stop
        finally:
            if self._turns.get(inc.chat_key) is turn:
                del self._turns[inc.chat_key]

    async def _stop_turn(self, inc: Incoming) -> None:
        if admit(self.ctx.store, self.settings, inc) != "answer":
            return
        turn = self._turns.get(inc.chat_key)
        if turn is None:
            await self.ctx.sender.send_plain(inc.chat_id, "Nothing to stop.", **where(inc))
            return
        turn.cancel()
        await self.ctx.sender.send_plain(inc.chat_id, "Stopped.", **where(inc))

    async def _offer(self, inc: Incoming) -> None:
        code = offer_code(self.ctx.store, inc, now=self.ctx.clock.now())
        if code is not None:
            log.info("telegram: pairing code offered to user %s", inc.user_id)
            await self.ctx.sender.send_plain(inc.chat_id, pairing_text(code))


def _well_formed(raw: object) -> list[tuple[int, dict[str, Any]]]:
    """The updates of a getUpdates answer that have an id; the rest is logged and dropped."""
    if not isinstance(raw, list):
        log.warning("telegram: getUpdates answered %s, not a list", type(raw).__name__)
        return []
    found = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("update_id"), int):
            found.append((item["update_id"], item))
        else:
            log.warning("telegram: skipped an update without an update_id")
    return found

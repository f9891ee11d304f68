"""The streaming draft against the emulator, on an injected clock: at most one edit per
interval, a restart replaces the text, a 429 on a draft edit is sat out, not waited on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from clawgate.channels.telegram._bot import make_bot
from clawgate.channels.telegram._draft import Draft
from clawgate.channels.telegram._send import Sender
from clawgate.clock import ManualClock
from clawgate.config import TelegramSettings
from clawgate.secret import Secret
from tests.channels.conftest import OWNER
from tests.channels.emulator import Emulator

pytestmark = [
    pytest.mark.anyio,
    # python-telegram-bot 22's RetryAfter reads its own deprecated int attribute when it is
    # made (telegram/error.py); the channel reads it through `retry_seconds`, warning-free.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


async def _never(seconds: float) -> None:
    raise AssertionError(f"a draft must not wait ({seconds} s)")


@pytest.fixture
async def draft(tg: Emulator) -> AsyncIterator[tuple[Draft, ManualClock, str]]:
    token = tg.new_token()
    bot = make_bot(TelegramSettings(api_root=tg.url), Secret(token))
    clock = ManualClock()
    async with bot:
        yield Draft(Sender(bot, _never), OWNER, clock, 1.0), clock, token


async def test_edits_at_most_once_per_interval(
    draft: tuple[Draft, ManualClock, str], tg: Emulator
) -> None:
    d, clock, token = draft

    async def stream(text: str, advance: float = 0.0) -> list[str]:
        clock.advance(advance)
        d.add(text)
        await d.update()
        (message,) = tg.chat(token, OWNER)
        return [*(e["text"] for e in message["edits"]), message["text"]]

    assert await stream("Hel") == ["Hel"]  # the first text: sent at once
    assert await stream("lo") == ["Hel"]
    assert await stream(" th", 0.5) == ["Hel"]
    assert await stream("ere", 0.5) == ["Hel", "Hello there"]  # one interval later
    d.restart()
    assert await stream("Again", 0.2) == ["Hel", "Hello there"]
    assert await stream("", 0.8) == ["Hel", "Hello there", "Again"]  # replaced, not appended
    assert d.edits == 3
    assert d.shown == "Again"


async def test_a_429_on_a_draft_edit_skips_edits_until_retry_after(
    draft: tuple[Draft, ManualClock, str], tg: Emulator
) -> None:
    d, clock, token = draft
    d.add("one")
    await d.update()
    tg.fault(token, "editMessageText", "429", retryAfter=5)
    clock.advance(1)
    d.add(" two")
    await d.update()  # refused: no wait (the sleep would fail the test)
    for _ in range(4):
        clock.advance(1)
        await d.update()
    assert tg.shown(token, OWNER) == ["one"]
    clock.advance(1)
    await d.update()
    assert tg.shown(token, OWNER) == ["one two"]
    assert len(tg.calls(token)["editMessageText"]) == 2


async def test_the_token_is_hidden_in_the_http_clients_log(
    tg: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = tg.new_token()
    caplog.set_level(logging.INFO, logger="httpx")
    async with make_bot(TelegramSettings(api_root=tg.url), Secret(token)) as bot:
        await bot.get_me()
    assert "/bot<token>/getMe" in caplog.text
    assert token not in caplog.text
    assert token.split(":")[1] not in caplog.text

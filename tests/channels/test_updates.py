"""Raw updates read into what the channel acts on (`_updates.read_update`), with a bot that
knows its own name (getMe against the emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from clawgate.channels.telegram._bot import make_bot
from clawgate.channels.telegram._updates import read_update
from clawgate.config import TelegramSettings
from clawgate.secret import Secret
from tests.channels.emulator import Emulator

pytestmark = pytest.mark.anyio
BOT_ID = 666  # the emulator's getMe


@pytest.fixture
async def bot(tg: Emulator) -> AsyncIterator[Bot]:
    async with make_bot(TelegramSettings(api_root=tg.url), Secret(tg.new_token())) as running:
        yield running


def update(text: str, chat: dict[str, Any] | None = None, **message: Any) -> dict[str, Any]:
    return {
        "update_id": 5,
        "message": {
            "message_id": 9,
            "date": 1,
            "text": text,
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "chat": chat or {"id": 42, "type": "private"},
            **message,
        },
    }


GROUP = {"id": -100, "type": "supergroup", "title": "G"}


async def test_private_messages_are_addressed_and_keyed_by_chat(bot: Bot) -> None:
    found = read_update(update("hello"), bot)
    assert found is not None
    assert (found.chat_key, found.user_id, found.user_name, found.text) == (
        "42",
        42,
        "Ann",
        "hello",
    )
    assert found.addressed
    assert found.command is None


async def test_in_groups_only_a_mention_or_a_reply_addresses_the_bot(bot: Bot) -> None:
    plain = read_update(update("hi all", GROUP), bot)
    mention = read_update(
        update("@testnamebot hi", GROUP, entities=[{"type": "mention", "offset": 0, "length": 12}]),
        bot,
    )
    reply = read_update(
        update(
            "and?",
            GROUP,
            reply_to_message={
                "message_id": 3,
                "date": 1,
                "chat": GROUP,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Test Bot"},
                "text": "earlier answer",
            },
        ),
        bot,
    )
    assert plain is not None
    assert mention is not None
    assert reply is not None
    assert (plain.addressed, mention.addressed, reply.addressed) == (False, True, True)


async def test_commands_for_this_bot_only(bot: Bot) -> None:
    mine = read_update(update("/model@TestNameBot alt/m", GROUP), bot)
    other = read_update(update("/model@OtherBot alt/m", GROUP), bot)
    bare = read_update(update("/NEW"), bot)
    assert mine is not None
    assert (mine.command, mine.args) == ("model", "alt/m")
    assert other is not None
    assert other.command is None
    assert bare is not None
    assert bare.command == "new"


async def test_a_forum_topic_is_its_own_conversation(bot: Bot) -> None:
    found = read_update(update("hi", GROUP, message_thread_id=7, is_topic_message=True), bot)
    assert found is not None
    assert found.chat_key == "-100:7"
    assert found.thread_id == 7


async def test_what_is_not_a_person_writing_is_skipped(bot: Bot) -> None:
    edited = {"update_id": 6, "edited_message": update("x")["message"]}
    from_bot = update("x", **{"from": {"id": 7, "is_bot": True, "first_name": "B"}})
    broken = {"update_id": 7, "message": {"text": "no chat, no date"}}
    assert read_update(edited, bot) is None
    assert read_update(from_bot, bot) is None
    assert read_update(broken, bot) is None

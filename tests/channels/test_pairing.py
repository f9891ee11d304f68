"""Pairing codes with an injected clock: one open code per user, a daily limit, expiry."""

from __future__ import annotations

import pytest

from clawgate.channels.telegram import CODE_TTL, MAX_CODES, PairingError, pair
from clawgate.channels.telegram._incoming import Incoming
from clawgate.channels.telegram._pairing import admit, offer_code
from clawgate.clock import ManualClock
from clawgate.config import TelegramSettings
from clawgate.state import State


def _from(user: int, chat: int | None = None, **more: object) -> Incoming:
    chat = user if chat is None else chat
    kind = "private" if chat > 0 else "supergroup"
    return Incoming(1, chat, kind, None, user, f"U{user}", 1, "hi", **more)  # type: ignore[arg-type]


def test_one_open_code_per_user_and_a_daily_limit() -> None:
    store, clock = State.open(":memory:").telegram, ManualClock()
    first = offer_code(store, _from(7), now=clock.now())
    assert first is not None
    assert len(first) == 8
    assert offer_code(store, _from(7), now=clock.now()) is None  # one is open
    codes = [first]
    for _ in range(MAX_CODES - 1):
        clock.advance(CODE_TTL)  # the open one expired
        code = offer_code(store, _from(7), now=clock.now())
        assert code is not None
        assert code not in codes
        codes.append(code)
    clock.advance(CODE_TTL)
    assert offer_code(store, _from(7), now=clock.now()) is None  # the day's are used up
    clock.advance(86400)
    assert offer_code(store, _from(7), now=clock.now()) is not None


def test_an_expired_code_is_refused_with_the_fix() -> None:
    store, clock = State.open(":memory:").telegram, ManualClock()
    code = offer_code(store, _from(7), now=clock.now())
    assert code is not None
    clock.advance(CODE_TTL + 1)
    with pytest.raises(PairingError, match="has expired") as refused:
        pair(store, code, clock)
    assert refused.value.fix
    assert "write to the bot again" in refused.value.fix
    assert store.access(7) is None


def test_who_is_answered() -> None:
    store = State.open(":memory:").telegram
    settings = TelegramSettings(groups=[-9], allow_from=["8", 11])
    assert admit(store, settings, _from(7)) == "pair"
    assert admit(store, settings, _from(8)) == "answer"  # allowFrom, without pairing
    assert admit(store, settings, _from(11)) == "answer"
    assert admit(store, settings, _from(7, -9)) == "ignore"  # not mentioned
    assert admit(store, settings, _from(7, -9, addressed=True)) == "answer"
    assert admit(store, settings, _from(7, -10, addressed=True)) == "ignore"  # not allowed
    store.deny(-9, now=1.0)
    assert admit(store, settings, _from(8, -9, addressed=True)) == "ignore"
    store.allow(-9, None, now=1.0)
    store.deny(7, now=1.0)
    assert admit(store, settings, _from(7, -9, addressed=True)) == "ignore"
    assert admit(store, settings, _from(7)) == "ignore"

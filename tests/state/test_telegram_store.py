"""The Telegram channel's tables (`state._telegram`): the update inbox and its offset,
access, pairing codes, chats, and what the owner was told."""

from __future__ import annotations

import pytest

from clawgate.state import ChatAccess, Pairing, State


@pytest.fixture
def state(state_backend: State) -> State:
    return state_backend  # SQLite and PostgreSQL (tests/state/backends.py)


def test_updates_are_stored_once_and_the_offset_moves_past_them(state: State) -> None:
    store = state.telegram
    assert store.offset() == 0
    assert store.receive([(7, '{"update_id": 7}'), (8, '{"update_id": 8}')], now=1.0) == [7, 8]
    assert store.offset() == 9
    # The same updates again (a poll that overlapped, a restart): none is new.
    assert store.receive([(8, "{}"), (9, '{"update_id": 9}')], now=2.0) == [9]
    assert store.offset() == 10
    store.done(7, now=3.0)
    assert [p.update_id for p in store.pending()] == [8, 9]
    store.forget_done(before=4.0)
    assert store.receive([(7, "{}")], now=5.0) == [7]
    assert store.offset() == 10


def test_the_first_allowed_user_is_the_owner_groups_never(state: State) -> None:
    store = state.telegram
    assert store.allow(-100, None, now=1.0).role == "allowed"
    assert store.owner() is None
    assert store.allow(42, "Ann", now=2.0).role == "owner"
    assert store.allow(43, None, now=3.0).role == "allowed"
    assert store.allow(42, None, now=4.0).role == "owner"  # allowing again changes nothing
    store.deny(42, now=5.0)
    assert store.owner() is None
    assert store.access(42) == ChatAccess(42, "denied", "Ann", 5.0)


def test_codes_are_single_use_and_expire(state: State) -> None:
    store = state.telegram
    store.add_code(Pairing("AAAA2222", 42, 42, "Ann", 10.0, 20.0, None))
    store.add_code(Pairing("BBBB3333", 43, 43, None, 10.0, 20.0, None))
    assert [p.code for p in store.pending_codes(15.0)] == ["AAAA2222", "BBBB3333"]
    found, verdict = store.use_code("AAAA2222", now=15.0)
    assert verdict == "ok"
    assert found is not None
    assert found.used_at == 15.0
    assert store.use_code("AAAA2222", now=16.0)[1] == "used"
    assert store.use_code("BBBB3333", now=20.0)[1] == "expired"
    assert store.use_code("CCCC4444", now=1.0) == (None, "unknown")
    store.deny(43, now=17.0)
    assert store.pending_codes(17.0) == []


def test_chats_keep_their_session_number_and_pin(state: State) -> None:
    store = state.telegram
    assert store.chat("5") == (1, None)
    store.pin("5", "alt/m")
    assert store.new_session("5") == 2
    assert store.chat("5") == (2, "alt/m")
    store.pin("5", None)
    assert store.chat("5") == (2, None)
    assert store.chat("5:9") == (1, None)


def test_the_owner_is_told_once_per_incident(state: State) -> None:
    store = state.telegram
    store.tell("a:1", "vault:10.0", now=1.0)
    store.tell("a:1", "vault:20.0", now=2.0)
    assert store.told() == {"a:1": "vault:20.0"}
    store.healed("a:1")
    assert store.told() == {}

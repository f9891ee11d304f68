"""Which conversation a turn belongs to: the key that keeps it on its pool profile and its
provider session id stable (`runtime.conversation_key`), and how the API names it
(`gateway._conversation`: the x-clawgate-session header, a Responses chain)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from clawgate.gateway._conversation import HEADER, with_conversation
from clawgate.gateway._openai import RequestError
from clawgate.providers import Message, Options
from clawgate.runtime import TurnRequest
from clawgate.runtime._turn import conversation_key
from clawgate.state import State, StoredResponse

HELLO = (Message("user", "Hi"),)


def request(headers: dict[str, str] | None = None) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def test_the_key_prefers_a_named_conversation_then_the_session_then_the_user() -> None:
    base = TurnRequest(HELLO, options=Options(user="ann"))
    assert conversation_key(base, "t1") == "user:ann"
    assert conversation_key(TurnRequest(HELLO, session="s", options=Options(user="a")), "t") == (
        "session:s"
    )
    named = TurnRequest(HELLO, session="s", conversation="named:c", options=Options(user="a"))
    assert conversation_key(named, "t") == "named:c"
    assert conversation_key(TurnRequest(HELLO), "t1") == "turn:t1"


def test_the_header_names_the_conversation_and_a_bad_one_is_refused() -> None:
    turn = TurnRequest(HELLO)
    assert with_conversation(turn, request()).conversation is None
    assert with_conversation(turn, request({HEADER: "chat-7"})).conversation == "named:chat-7"
    with pytest.raises(RequestError) as refused:
        with_conversation(turn, request({HEADER: "x" * 200}))
    assert refused.value.param == HEADER
    assert "not a session key" in refused.value.message


def test_a_responses_chain_is_named_by_its_first_turn() -> None:
    state = State.open(":memory:")
    try:
        for rid, previous in (("resp_t1", None), ("resp_t2", "resp_t1"), ("resp_t3", "resp_t2")):
            state.responses.add(
                StoredResponse(rid, 0.0, "up/m", "completed", previous, [], [], None, {})
            )
        turn = TurnRequest(HELLO)
        chained = with_conversation(turn, request(), state, "resp_t3")
        # The key the chain's first turn had (it named no conversation): turn:t1.
        assert chained.conversation == conversation_key(TurnRequest(HELLO), "t1") == "turn:t1"
        assert conversation_key(chained, "t4") == "turn:t1"
        assert with_conversation(turn, request(), state, "resp_gone").conversation is None
        headed = with_conversation(turn, request({HEADER: "mine"}), state, "resp_t3")
        assert headed.conversation == "named:mine"  # the caller's own name wins
    finally:
        state.close()

"""Stored responses: kept whole, fetched by id, and a conversation's chain read back from its
first response to the named one."""

from __future__ import annotations

from typing import Any

import pytest

from clawgate.state import State, StoredResponse


@pytest.fixture
def state(state_backend: State) -> State:
    return state_backend  # SQLite and PostgreSQL (tests/state/backends.py)


def kept(rid: str, previous: str | None = None, **fields: Any) -> StoredResponse:
    return StoredResponse(
        id=rid,
        created_at=1.0,
        model="cc/m",
        status="completed",
        previous_id=previous,
        input=[{"role": "user", "content": f"{rid}?"}],
        output=[{"role": "assistant", "content": f"{rid}!"}],
        usage={"input_tokens": 1},
        body={"id": rid, "object": "response"},
        **fields,
    )


def test_a_response_is_kept_whole(state: State) -> None:
    state.responses.add(kept("resp_a"))
    assert state.responses.get("resp_a") == kept("resp_a")
    assert state.responses.get("resp_b") is None


def test_a_chain_runs_from_the_first_response_to_the_named_one(state: State) -> None:
    state.responses.add(kept("resp_a"))
    state.responses.add(kept("resp_b", "resp_a"))
    state.responses.add(kept("resp_c", "resp_b"))
    state.responses.add(kept("resp_x", "resp_a"))  # a branch: not on c's chain
    chain = state.responses.chain("resp_c")
    assert chain is not None
    assert [r.id for r in chain] == ["resp_a", "resp_b", "resp_c"]
    assert [r.id for r in state.responses.chain("resp_x") or ()] == ["resp_a", "resp_x"]
    assert state.responses.chain("resp_unknown") is None


def test_a_chain_whose_link_is_gone_ends_there(state: State) -> None:
    state.responses.add(kept("resp_b", "resp_gone"))
    assert [r.id for r in state.responses.chain("resp_b") or ()] == ["resp_b"]

"""The PostgreSQL backend when its server stops and starts again (its own server, since the
session's is shared): every store call is `StoreUnavailable` naming the state store, a
transaction that could not finish left nothing, and the same `State` works again once the
server is back, with no reopening."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clawgate.state import State, StoredMessage, StoreUnavailable, open_postgres
from tests.postgres import PostgresServer, running_postgres


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    with running_postgres() as own:
        yield own


def test_calls_fail_clearly_while_away_and_work_again_after(server: PostgresServer) -> None:
    state = State(open_postgres(server.database()))
    try:
        state.sessions.append("s", "t1", [StoredMessage("user", "before")], now=1.0)
        server.stop()
        for call in (
            lambda: state.sessions.history("s"),
            lambda: state.sessions.append("s", "t2", [StoredMessage("user", "lost")], now=2.0),
            lambda: state.telegram.allow(42, None, now=2.0),  # a locked transaction
            state.conn.ping,
        ):
            with pytest.raises(StoreUnavailable) as away:
                call()
            assert "state store (PostgreSQL at" in away.value.message
            assert away.value.fix is not None
            assert "CLAWGATE_DATABASE_URL" in away.value.fix
        server.start()
        assert [m.content for m in state.sessions.history("s")] == ["before"]
        state.sessions.append("s", "t3", [StoredMessage("user", "after")], now=3.0)
        assert [m.content for m in state.sessions.history("s")] == ["before", "after"]
    finally:
        state.close()

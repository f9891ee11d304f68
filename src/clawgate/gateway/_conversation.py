"""Which conversation an API turn belongs to (docs/routing.md, "Account pools"): the
``x-clawgate-session`` header a caller sends, else, for the Responses API, the chain that
``previous_response_id`` continues (named by its first response). The API's ``user`` is read
by the runtime itself (`runtime.conversation_key`)."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request

from clawgate.gateway._openai import RequestError
from clawgate.names import BadName, check_session_key
from clawgate.runtime import TurnRequest
from clawgate.state import State

__all__ = ["HEADER", "with_conversation"]

HEADER = "x-clawgate-session"


def with_conversation(
    turn: TurnRequest, request: Request, state: State | None = None, previous: str | None = None
) -> TurnRequest:
    """``turn`` with the conversation its request names, if any, as its key
    (`runtime.conversation_key`: a chain's is the key its first turn had); `RequestError` for
    a header that is not a session key."""
    named = request.headers.get(HEADER)
    if named is not None:
        try:
            return replace(turn, conversation=f"named:{check_session_key(named)}")
        except BadName as exc:
            raise RequestError(f"header {HEADER}: {exc.message}", param=HEADER) from None
    if state is not None and previous is not None:
        chain = state.responses.chain(previous)
        if chain:
            # A response's id is resp_<turn id>, and a chain's first turn is its conversation.
            first = chain[0].id.removeprefix("resp_")
            return replace(turn, conversation=f"turn:{first}")
    return turn

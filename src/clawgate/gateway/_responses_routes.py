"""The Responses API surface: ``POST /v1/responses`` and ``GET /v1/responses/{id}``.

A request is read into a turn (`_responses_request`), continuing a stored conversation when it
names ``previous_response_id``; the turn runs on a leased runtime like a chat completion, and
is answered as a response object (`_responses_shapes`) or as the API's event stream
(`_responses_stream`). With ``store`` (the default) the response is kept in ``state.db``: its
object for ``GET``, and its input and output messages for a later turn to continue.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway._http import (
    answer_facts,
    answer_headers,
    error_response,
    failed_response,
    read_json,
)
from clawgate.gateway._openai import RequestError
from clawgate.gateway._responses_request import (
    ResponsesRequest,
    input_messages,
    parse_request,
    turn_request,
)
from clawgate.gateway._responses_shapes import Frame, echo, surface
from clawgate.gateway._responses_stream import Keep, stream_response
from clawgate.gateway._state import Gateway
from clawgate.providers import Message, from_record, to_record
from clawgate.routing import RoutingError
from clawgate.runtime import TurnFailed, TurnResult
from clawgate.state import State, StoredResponse

__all__ = ["ROUTES", "create_response", "get_response"]


class _Unknown(Exception):
    """A ``previous_response_id`` that names no stored response."""


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def create_response(request: Request) -> Response:
    gateway = _gateway(request)
    created = int(time.time())
    try:
        limit = gateway.config.settings.gateway.max_body_bytes
        body = parse_request(await read_json(request, limit=limit))
        turn = turn_request(body, _history(gateway.state, body.previous_response_id))
    except RequestError as exc:
        status = 413 if exc.code == "request_too_large" else 400
        return error_response(status, exc.message, code=exc.code, param=exc.param)
    except _Unknown as exc:
        return error_response(
            404,
            f"no stored response {exc.args[0]!r} to continue",
            code="previous_response_not_found",
            param="previous_response_id",
        )
    keep = _keeper(gateway.state, body)
    lease = await gateway.lease()
    try:
        if body.stream:
            return await stream_response(lease, turn, body, keep)  # the stream releases it
        async with lease as runtime:
            result = await runtime.complete(turn)
    except RoutingError as exc:
        return error_response(400, exc.message, code="model_not_found", param="model")
    except TurnFailed as exc:
        return failed_response(exc)
    who = surface(result, body.unsent)
    answer = Frame(result.turn_id, created, echo(body)).answered(result, answer_facts(who))
    keep(answer, result)
    return JSONResponse(answer, headers=answer_headers(who))


async def get_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    stored = _gateway(request).state.responses.get(response_id)
    if stored is None:
        return error_response(
            404, f"no stored response {response_id!r}", code="not_found", param="response_id"
        )
    return JSONResponse(stored.body)


def _history(state: State, previous: str | None) -> tuple[Message, ...]:
    """The conversation ``previous`` carried on: each response's input and output, from the
    first. Its instructions are not carried over (a request sends its own)."""
    if previous is None:
        return ()
    chain = state.responses.chain(previous)
    if chain is None:
        raise _Unknown(previous)
    return tuple(from_record(r) for kept in chain for r in (*kept.input, *kept.output))


def _keeper(state: State, body: ResponsesRequest) -> Keep:
    inputs = [to_record(m) for m in input_messages(body)]

    def keep(answer: dict[str, Any], result: TurnResult | None) -> None:
        if not body.store:
            return
        # A failed answer is void: only its input carries on.
        output = []
        if result is not None:
            said = Message("assistant", result.text, tool_calls=result.tool_calls)
            output.append(to_record(said))
        state.responses.add(
            StoredResponse(
                id=answer["id"],
                created_at=answer["created_at"],
                model=answer["model"],
                status=answer["status"],
                previous_id=body.previous_response_id,
                input=inputs,
                output=output,
                usage=answer["usage"],
                body=answer,
            )
        )

    return keep


ROUTES = [
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
]

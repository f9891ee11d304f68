"""The Responses API surface: ``POST /v1/responses``, and for a stored response
``GET /v1/responses/{id}``, ``DELETE /v1/responses/{id}`` and
``GET /v1/responses/{id}/input_items``.

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

from clawgate.gateway._conversation import with_conversation
from clawgate.gateway._http import (
    answer_facts,
    answer_headers,
    check_models,
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
from clawgate.providers import Message, from_record, responses_input_items, to_record
from clawgate.routing import RoutingError
from clawgate.runtime import TurnFailed, TurnResult
from clawgate.state import State, StoredResponse

__all__ = [
    "ROUTES",
    "create_response",
    "delete_response",
    "get_response",
    "list_input_items",
]


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
        turn = with_conversation(turn, request, gateway.state, body.previous_response_id)
        await check_models(gateway, turn.model, turn.models)
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
    stored = _stored(request)
    return stored if isinstance(stored, Response) else JSONResponse(stored.body)


async def delete_response(request: Request) -> Response:
    response_id = request.path_params["response_id"]
    if not _gateway(request).state.responses.delete(response_id):
        return _no_such(response_id)
    return JSONResponse({"id": response_id, "object": "response", "deleted": True})


async def list_input_items(request: Request) -> Response:
    """The items of the response's own input (not those of the responses it continued), as
    the API lists them: ``order`` ``desc`` (the default) or ``asc``, ``limit`` 1-100 (20),
    ``after`` an item id (https://platform.openai.com/docs/api-reference/responses/input-items)."""
    stored = _stored(request)
    if isinstance(stored, Response):
        return stored
    try:
        order, limit, after = _page(request.query_params)
    except RequestError as exc:
        return error_response(400, exc.message, code=exc.code, param=exc.param)
    items = [
        {"id": f"{_PREFIX.get(item['type'], 'item')}_{stored.id}_{n}", **item}
        for n, item in enumerate(responses_input_items(from_record(r) for r in stored.input))
    ]
    if order == "desc":
        items.reverse()
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            return error_response(400, f"no input item {after!r}", code=None, param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return JSONResponse(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
    )


_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}


def _page(query: Any) -> tuple[str, int, str | None]:
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise RequestError("order: must be 'asc' or 'desc'", param="order")
    raw = query.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise RequestError("limit: must be a whole number from 1 to 100", param="limit")
    return order, int(raw), query.get("after")


def _stored(request: Request) -> StoredResponse | Response:
    response_id = request.path_params["response_id"]
    stored = _gateway(request).state.responses.get(response_id)
    return _no_such(response_id) if stored is None else stored


def _no_such(response_id: str) -> Response:
    return error_response(
        404, f"no stored response {response_id!r}", code="not_found", param="response_id"
    )


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
    Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    Route("/v1/responses/{response_id}/input_items", list_input_items, methods=["GET"]),
]

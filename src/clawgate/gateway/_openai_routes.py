"""The OpenAI-compatible surface: ``GET /v1/models`` and ``POST /v1/chat/completions``.
Each endpoint reads its body into a turn (`_chat_request`), runs it on the current runtime,
and answers in OpenAI's shapes (`_openai`, `_stream`); `_guard` has checked the token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway._chat_request import parse_request, turn_request
from clawgate.gateway._http import (
    answer_facts,
    answer_headers,
    error_response,
    failed_response,
    read_json,
)
from clawgate.gateway._openai import RequestError, completion
from clawgate.gateway._state import Gateway
from clawgate.gateway._stream import stream_answer
from clawgate.routing import RoutingError
from clawgate.runtime import TurnFailed

__all__ = ["ROUTES", "chat_completions", "models"]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def models(request: Request) -> Response:
    gateway = _gateway(request)
    await gateway.refresh()
    settings = gateway.config.settings
    ids = ["clawgate"]
    selection = settings.agents.defaults.model
    for ref in [selection.primary, *selection.fallbacks, *settings.agents.defaults.models]:
        ids.append(ref)
    ids += [o.alias for o in settings.agents.defaults.models.values() if o.alias]
    for name, provider in settings.models.providers.items():
        ids += [f"{name}/{m.id}" for m in provider.models]
    unique = list(dict.fromkeys(ids))
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": i, "object": "model", "created": 0, "owned_by": "clawgate"} for i in unique
            ],
        }
    )


async def chat_completions(request: Request) -> Response:
    gateway = _gateway(request)
    try:
        limit = gateway.config.settings.gateway.max_body_bytes
        chat = parse_request(await read_json(request, limit=limit))
        turn = turn_request(chat)
    except RequestError as exc:
        status = 413 if exc.code == "request_too_large" else 400
        return error_response(status, exc.message, code=exc.code, param=exc.param)
    lease = await gateway.lease()
    try:
        if chat.stream:
            return await stream_answer(lease, turn, chat)  # the stream releases the lease
        async with lease as runtime:
            result = await runtime.complete(turn)
    except RoutingError as exc:
        return error_response(400, exc.message, code="model_not_found")
    except TurnFailed as exc:
        return failed_response(exc)
    body = completion(
        result.turn_id,
        result.model,
        result.text,
        result.finish_reason,
        result.usage,
        answer_facts(result),
        result.tool_calls,
    )
    return JSONResponse(body, headers=answer_headers(result))


ROUTES = [
    Route("/v1/models", models),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]

"""The OpenAI-compatible surface: ``GET /v1/models``, ``GET /v1/models/{id}`` and
``POST /v1/chat/completions``.
Each endpoint reads its body into a turn (`_chat_request`), runs it on the current runtime,
and answers in OpenAI's shapes (`_openai`, `_stream`); `_guard` has checked the token."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.config import Settings
from clawgate.gateway._chat_request import parse_request, turn_request
from clawgate.gateway._conversation import with_conversation
from clawgate.gateway._http import (
    answer_facts,
    answer_headers,
    check_models,
    error_response,
    failed_response,
    read_json,
)
from clawgate.gateway._openai import DEFAULT_MODELS, RequestError, completion
from clawgate.gateway._state import Gateway
from clawgate.gateway._stream import stream_answer
from clawgate.names import shown
from clawgate.routing import RoutingError, requested_ref
from clawgate.runtime import TurnFailed

__all__ = ["ROUTES", "chat_completions", "model", "models"]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _known(settings: Settings) -> list[str]:
    """Every model name a request may use here: the chain, its aliases, the embeddings
    chain, each configured provider's models, and "clawgate" for the default chains."""
    ids = ["clawgate"]
    selection = settings.agents.defaults.model
    ids += [selection.primary, *selection.fallbacks, *settings.agents.defaults.models]
    if (embedding := settings.agents.defaults.embeddings) is not None:
        ids += [embedding.primary, *embedding.fallbacks]
    ids += [o.alias for o in settings.agents.defaults.models.values() if o.alias]
    for name, provider in settings.models.providers.items():
        ids += [f"{name}/{m.id}" for m in provider.models]
    return list(dict.fromkeys(ids))


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "clawgate"}


async def models(request: Request) -> Response:
    gateway = _gateway(request)
    await gateway.refresh()
    known = _known(gateway.config.settings)
    return JSONResponse({"object": "list", "data": [_model(i) for i in known]})


async def model(request: Request) -> Response:
    """One model by name: a listed one, or any provider/model or alias the chain resolves."""
    gateway = _gateway(request)
    await gateway.refresh()
    settings = gateway.config.settings
    model_id = request.path_params["model_id"]
    if model_id in DEFAULT_MODELS or model_id in _known(settings):
        return JSONResponse(_model(model_id))
    try:
        requested_ref(model_id, settings)
    except RoutingError as exc:
        return error_response(
            404, f"no model {shown(model_id)} here: {exc.message}", code="model_not_found"
        )
    return JSONResponse(_model(model_id))


async def chat_completions(request: Request) -> Response:
    gateway = _gateway(request)
    try:
        limit = gateway.config.settings.gateway.max_body_bytes
        chat = parse_request(await read_json(request, limit=limit))
        turn = with_conversation(turn_request(chat), request)
        await check_models(gateway, turn.model, turn.models)
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
        return error_response(400, exc.message, code="model_not_found", param="model")
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
    Route("/v1/models/{model_id:path}", model),
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
]

"""``POST /v1/embeddings``, as OpenAI documents it
(https://platform.openai.com/docs/api-reference/embeddings/create).

``model`` "clawgate" or "default" walks the embeddings chain (``agents.defaults.embeddings``);
a provider/model or alias is that model alone. ``input`` is a string or a list of strings;
token arrays are refused (the gateway cannot know which tokenizer they belong to). The answer
is OpenAI's ``list`` of ``embedding`` objects, floats or (``encoding_format: "base64"``)
float32 little-endian packed as base64, plus who made them: the ``clawgate`` object and the
``x-clawgate-*`` headers, as a chat answer has. Fields OpenAI's request does not have are
not sent upstream and are named in ``x-clawgate-dropped-params``.
"""

from __future__ import annotations

import array
import base64
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.gateway._http import (
    answer_facts,
    answer_headers,
    check_models,
    error_response,
    failed_response,
    read_json,
)
from clawgate.gateway._openai import DEFAULT_MODELS, RequestError, validate
from clawgate.gateway._state import Gateway
from clawgate.routing import EmbeddingResult, EmbeddingsUnconfigured, RoutingError
from clawgate.runtime import Answering, EmbedRequest, TurnFailed, embed

__all__ = ["MAX_INPUTS", "ROUTES", "EmbeddingsBody", "embeddings", "parse_request"]

MAX_INPUTS = 2048  # OpenAI's limit on the inputs of one request


class EmbeddingsBody(BaseModel):
    # Unknown fields are not forwarded; the answer names them (x-clawgate-dropped-params).
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    input: str | list[Any]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    @property
    def dropped(self) -> tuple[str, ...]:
        return tuple(sorted(self.model_extra or {}))


def parse_request(document: object) -> tuple[EmbeddingsBody, EmbedRequest]:
    body = validate(EmbeddingsBody, document)
    return body, EmbedRequest(
        _inputs(body.input),
        model=None if body.model in DEFAULT_MODELS else body.model,
        dimensions=body.dimensions,
        user=body.user,
    )


def _inputs(given: str | list[Any]) -> tuple[str, ...]:
    inputs = [given] if isinstance(given, str) else given
    if not inputs:
        raise RequestError("input is an empty list: send at least one string", param="input")
    if len(inputs) > MAX_INPUTS:
        raise RequestError(
            f"input has {len(inputs)} items; at most {MAX_INPUTS} per request", param="input"
        )
    if any(isinstance(item, int | list) and not isinstance(item, bool) for item in inputs):
        raise RequestError(
            "token arrays are not supported here (the models behind the gateway may each use "
            "another tokenizer): send the text as a string or a list of strings",
            param="input",
        )
    for index, item in enumerate(inputs):
        where = "input" if isinstance(given, str) else f"input.{index}"
        if not isinstance(item, str):
            raise RequestError(
                f"{where} is {type(item).__name__}: input is a string or a list of strings",
                param=where,
            )
        if not item:
            raise RequestError(f"{where} is an empty string", param=where)
    return tuple(inputs)


def _packed(vector: tuple[float, ...]) -> str:
    """float32, little-endian, base64: what OpenAI sends for ``encoding_format: "base64"``."""
    values = array.array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def answer_body(
    result: EmbeddingResult, encoding: Literal["float", "base64"], clawgate: dict[str, Any]
) -> dict[str, Any]:
    tokens = result.usage.input_tokens if result.usage else 0
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": list(vector) if encoding == "float" else _packed(vector),
            }
            for index, vector in enumerate(result.vectors)
        ],
        "model": result.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        "clawgate": clawgate,
    }


async def embeddings(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        limit = gateway.config.settings.gateway.max_body_bytes
        body, asked = parse_request(await read_json(request, limit=limit))
        await check_models(gateway, asked.model)
    except RequestError as exc:
        status = 413 if exc.code == "request_too_large" else 400
        return error_response(status, exc.message, code=exc.code, param=exc.param)
    try:
        async with await gateway.lease() as runtime:
            result = await embed(runtime, asked)
    except EmbeddingsUnconfigured as exc:
        return error_response(404, f"{exc.message} (fix: {exc.fix})", code=exc.code, param="model")
    except RoutingError as exc:
        return error_response(400, exc.message, code="model_not_found", param="model")
    except TurnFailed as exc:
        return failed_response(exc)
    who = Answering(result.turn_id, result.model, result.profile, result.fallback, body.dropped)
    return JSONResponse(
        answer_body(result, body.encoding_format, answer_facts(who)),
        headers=answer_headers(who),
    )


ROUTES = [Route("/v1/embeddings", embeddings, methods=["POST"])]

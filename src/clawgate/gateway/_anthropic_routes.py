"""Anthropic's Messages API surface: ``POST /v1/messages`` and
``POST /v1/messages/count_tokens`` (https://docs.anthropic.com/en/api/messages,
https://docs.anthropic.com/en/api/messages-count-tokens), so that Anthropic clients (the
official SDKs, Claude Code with ``ANTHROPIC_BASE_URL``) use the gateway's models.

Each endpoint reads its body into a turn (`_anthropic_request`), runs it on the current
runtime and answers in Anthropic's shapes (`_anthropic_shapes`, `_anthropic_stream`); every
error, the token guard's included, is Anthropic's error object. `_guard` has checked the
token (``x-api-key`` or a Bearer token); the ``anthropic-version`` and ``anthropic-beta``
headers are accepted and ignored.

Counting tokens: when the model the turn would go to first is served by Anthropic's Messages
API (the built-in ``anthropic`` provider, or one configured with ``api:
anthropic-messages``), its own ``count_tokens`` endpoint answers, through the same credential
path as a turn. Otherwise, or when that endpoint fails, the count is the runtime's estimate
(about four characters a token), and says so: ``x-clawgate-estimate: true`` and
``clawgate.estimate`` in the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawgate.auth import Access
from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.gateway._anthropic_request import Parsed, parse_request, turn_request
from clawgate.gateway._anthropic_shapes import (
    error_response,
    headers,
    message,
    refused,
    turn_failed,
)
from clawgate.gateway._anthropic_stream import stream_message
from clawgate.gateway._http import check_refs, read_json
from clawgate.gateway._openai import RequestError
from clawgate.gateway._state import Gateway
from clawgate.providers import ModelRequest
from clawgate.providers.anthropic import AnthropicProvider
from clawgate.routing import Candidate, RoutingError
from clawgate.runtime import Runtime, TurnFailed, TurnRequest, estimate_input

__all__ = ["ROUTES", "count_tokens", "messages"]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _read(request: Request, settings: Settings, *, counting: bool = False) -> Parsed:
    limit = settings.gateway.max_body_bytes
    document = await read_json(request, limit=limit)
    parsed = turn_request(parse_request(document, counting=counting), settings)
    check_refs(settings, parsed.turn.model)
    return parsed


async def messages(request: Request) -> Response:
    gateway = _gateway(request)
    lease = await gateway.lease()
    try:
        parsed = await _read(request, lease.runtime.settings)
    except BaseException as exc:
        await lease.release()
        if isinstance(exc, RequestError):
            return refused(exc)
        raise
    try:
        if parsed.turn.stream:
            # The stream releases the lease (or `stream_message` does, when it raises).
            return await stream_message(lease, parsed.turn, parsed.dropped)
        async with lease as runtime:
            result = await runtime.complete(parsed.turn)
    except RoutingError as exc:
        return error_response("not_found_error", exc.message)
    except TurnFailed as exc:
        return turn_failed(exc)
    return JSONResponse(message(result, parsed.dropped), headers=headers(result, parsed.dropped))


# -- count_tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    tokens: int
    model: str | None  # provider/model the count is for; None: no model in the chain
    exact: bool  # the model's own API counted; else the runtime's estimate
    note: str | None = None  # why an Anthropic model's own count was not had


async def count_tokens(request: Request) -> Response:
    gateway = _gateway(request)
    async with await gateway.lease() as runtime:
        try:
            parsed = await _read(request, runtime.settings, counting=True)
            counted = await _count(runtime, parsed.turn)
        except RequestError as exc:
            return refused(exc)
        except RoutingError as exc:
            return error_response("not_found_error", exc.message)
    said: dict[str, str] = {"x-clawgate-estimate": "false" if counted.exact else "true"}
    facts: dict[str, Any] = {"estimate": not counted.exact}
    if counted.model:
        said["x-clawgate-model"] = facts["model"] = counted.model
    if counted.note:
        facts["note"] = counted.note
    body = {"input_tokens": counted.tokens, "clawgate": facts}
    return JSONResponse(body, headers=said)


async def _count(runtime: Runtime, turn: TurnRequest) -> Count:
    candidates = runtime.plan(turn).candidates
    if not candidates:
        return Count(estimate_input(turn.messages, turn.options.tools), None, exact=False)
    first = candidates[0]
    note = None
    try:
        provider = runtime.providers.get(first.provider)
        if isinstance(provider, AnthropicProvider):
            asked = ModelRequest(
                model=first.model,
                messages=turn.messages,
                max_tokens=turn.max_tokens,
                temperature=turn.temperature,
                stream=False,
                options=turn.options,
            )
            tokens = await provider.count_tokens(asked, _access(runtime, first))
            return Count(tokens, first.ref, exact=True)
    except Failed as exc:
        note = f"{first.ref} could not count: {exc.message}"
    return Count(
        estimate_input(turn.messages, turn.options.tools), first.ref, exact=False, note=note
    )


def _access(runtime: Runtime, c: Candidate) -> Access | None:
    """The profile's credential path, as a turn takes it (none for a provider without one)."""
    broker = runtime.broker
    generation = broker.generation(c.profile) if broker else None
    if broker is None or generation is None:
        return None
    broker.observe(c.profile, generation)
    return Access(broker, c.profile)


ROUTES = [
    Route("/v1/messages", messages, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
]

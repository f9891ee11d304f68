"""The gateway's HTTP app (Starlette): the OpenAI-compatible ``/v1`` API, ``/healthz``, and
the control API the CLI talks to (``/control/status``, ``/control/reload``,
``/control/decisions``, ``/control/probe``).

Live state: the config file is checked before every request and reloaded when it changed (an
invalid edit keeps the last good config and is reported by ``/control/status``); logins, keys
and order changes are read from the vault on every turn.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import asdict
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from clawgate import __version__
from clawgate.auth import Broker, view_profiles
from clawgate.config import ConfigError, LoadedConfig, Paths, config_digest, load_config
from clawgate.gateway._openai import (
    DEFAULT_MODELS,
    ChatRequest,
    RequestError,
    chunk,
    completion,
    error_body,
    parse_request,
    status_for,
)
from clawgate.gateway._token import TOKEN_PROFILE, matches
from clawgate.providers import is_content
from clawgate.routing import RoutingError
from clawgate.runtime import (
    Answering,
    Runtime,
    TurnEvent,
    TurnFailed,
    TurnRequest,
    TurnResult,
    probe,
    probe_targets,
)
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import Vault

__all__ = ["MAX_BODY", "Gateway", "create_app"]

log = logging.getLogger("clawgate.gateway")

MAX_BODY = 1 << 20  # bytes of a request body


class Gateway:
    """What the app serves from: the current config and runtime, and the process facts."""

    def __init__(
        self,
        paths: Paths,
        env: Mapping[str, str],
        *,
        token: Secret,
        state: State,
        vault: Vault,
        bind: str,
        port: int,
    ) -> None:
        self.paths = paths
        self.env = env
        self.token = token
        self.state = state
        self.vault = vault
        self.bind = bind
        self.port = port
        self.started = time.time()
        self.config: LoadedConfig = load_config(paths.config_file, env)
        self.digest = config_digest(paths.config_file)
        self.generation = 1  # of the config in use
        self.reload_error: str | None = None
        self._mtime = self._config_mtime()
        self.http = httpx.AsyncClient(timeout=30)  # the brokers' refreshes
        self.runtime = self._runtime()
        self._retired: list[Runtime] = []

    def _config_mtime(self) -> int | None:
        try:
            return self.paths.config_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _runtime(self) -> Runtime:
        settings = self.config.settings
        broker = Broker(self.vault, settings, http=self.http)
        return Runtime(settings, state=self.state, vault=self.vault, broker=broker)

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the config if the file changed; False (and the error kept) if it is bad."""
        mtime = self._config_mtime()
        if not force and mtime == self._mtime:
            return True
        self._mtime = mtime
        try:
            loaded = load_config(self.paths.config_file, self.env)
        except ConfigError as exc:
            self.reload_error = str(exc)
            log.warning("config not reloaded, keeping generation %d: %s", self.generation, exc)
            return False
        self.config = loaded
        self.digest = config_digest(self.paths.config_file)
        self.generation += 1
        self.reload_error = None
        self._retired.append(self.runtime)  # turns in flight finish on it
        self.runtime = self._runtime()
        log.info("config reloaded: generation %d", self.generation)
        return True

    async def aclose(self) -> None:
        for runtime in [*self._retired, self.runtime]:
            await runtime.aclose()
        await self.http.aclose()

    def status(self) -> dict[str, Any]:
        profiles = view_profiles(self.vault, self.config.settings)
        return {
            "version": __version__,
            "pid": os.getpid(),
            "bind": self.bind,
            "port": self.port,
            "uptime": round(time.time() - self.started, 3),
            "config": {
                "path": str(self.paths.config_file),
                "generation": self.generation,
                "digest": self.digest,
                "error": self.reload_error,
            },
            "profiles": [
                {
                    "id": p.profile_id,
                    "provider": p.provider,
                    "kind": p.kind,
                    "billing": p.billing,
                    "state": p.state,
                    "expiresAt": p.expires_at,
                    "detail": p.detail,
                    "fix": p.fix,
                }
                for p in profiles
                if p.profile_id != TOKEN_PROFILE
            ],
        }


def _error(status: int, message: str, *, code: str | None, **headers: str) -> JSONResponse:
    type_ = "invalid_request_error" if status < 500 else "api_error"
    if status == 401:
        type_ = "authentication_error"
    return JSONResponse(error_body(message, code=code, type_=type_), status, headers=headers)


def _headers(turn_id: str, model: str, profile: str, fallback: bool) -> dict[str, str]:
    return {
        "x-clawgate-turn": turn_id,
        "x-clawgate-model": model,
        "x-clawgate-profile": profile,
        "x-clawgate-fallback": "true" if fallback else "false",
    }


def _facts(turn_id: str, model: str, profile: str, fallback: bool) -> dict[str, Any]:
    return {"turn": turn_id, "model": model, "profile": profile, "fallback": fallback}


async def _body(request: Request, *, empty: object = None) -> object:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestError(f"the body is over {MAX_BODY} bytes", code="request_too_large")
    raw = b""
    async for part in request.stream():
        raw += part
        if len(raw) > MAX_BODY:
            raise RequestError(f"the body is over {MAX_BODY} bytes", code="request_too_large")
    if not raw.strip() and empty is not None:
        return empty
    try:
        return json.loads(raw)
    except ValueError:
        raise RequestError("the body is not valid JSON") from None


def create_app(gateway: Gateway) -> Starlette:
    def authorized(request: Request) -> Response | None:
        if matches(request.headers.get("authorization"), gateway.token):
            return None
        return _error(
            401,
            "missing or wrong bearer token (see: clawgate gateway token)",
            code="unauthorized",
            **{"www-authenticate": "Bearer"},
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def models(request: Request) -> Response:
        if (refused := authorized(request)) is not None:
            return refused
        gateway.refresh()
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
                    {"id": i, "object": "model", "created": 0, "owned_by": "clawgate"}
                    for i in unique
                ],
            }
        )

    async def chat_completions(request: Request) -> Response:
        if (refused := authorized(request)) is not None:
            return refused
        try:
            chat = parse_request(await _body(request))
            turn = _turn_request(chat)
        except RequestError as exc:
            status = 413 if exc.code == "request_too_large" else 400
            return _error(status, exc.message, code=exc.code)
        gateway.refresh()
        runtime = gateway.runtime
        try:
            if chat.stream:
                return await _stream(runtime, turn, chat)
            result = await runtime.complete(turn)
        except RoutingError as exc:
            return _error(400, exc.message, code="model_not_found")
        except TurnFailed as exc:
            return _failed(exc)
        facts = (result.turn_id, result.model, result.profile, result.fallback)
        body = completion(
            result.turn_id,
            result.model,
            result.text,
            result.finish_reason,
            result.usage,
            _facts(*facts),
        )
        return JSONResponse(body, headers=_headers(*facts))

    async def control_status(request: Request) -> Response:
        if (refused := authorized(request)) is not None:
            return refused
        gateway.refresh()
        return JSONResponse(gateway.status())

    async def control_reload(request: Request) -> Response:
        if (refused := authorized(request)) is not None:
            return refused
        ok = gateway.refresh(force=True)
        body = {"ok": ok, "generation": gateway.generation, "error": gateway.reload_error}
        return JSONResponse(body, 200 if ok else 409)

    async def control_probe(request: Request) -> Response:
        """`models status --probe`, run here: on the broker and providers that serve turns."""
        if (refused := authorized(request)) is not None:
            return refused
        try:
            asked = _probe_request(await _body(request, empty={}))
        except RequestError as exc:
            return _error(400, exc.message, code=exc.code)
        gateway.refresh()
        runtime = gateway.runtime
        targets = probe_targets(runtime, provider=asked.provider, profile=asked.profile)
        results = await probe(
            runtime,
            targets,
            seconds=asked.timeout,
            concurrency=asked.concurrency,
            ran_in="gateway",
        )
        return JSONResponse({"probes": [r.to_json() for r in results]})

    async def control_decisions(request: Request) -> Response:
        if (refused := authorized(request)) is not None:
            return refused
        raw = request.query_params.get("last", "10")
        last = int(raw) if raw.isdigit() and int(raw) > 0 else 10
        turns = gateway.state.decisions.last(last)
        return JSONResponse([asdict(t) for t in turns])

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/control/status", control_status),
            Route("/control/reload", control_reload, methods=["POST"]),
            Route("/control/decisions", control_decisions),
            Route("/control/probe", control_probe, methods=["POST"]),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, f"no route {request.url.path}", code="not_found")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _error(405, f"{request.method} is not allowed on {request.url.path}", code=None)


class ProbeRequest(BaseModel):
    """The body of ``POST /control/probe``: which profiles, and how long each may take."""

    model_config = ConfigDict(extra="forbid")
    provider: str | None = None
    profile: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    concurrency: int = Field(default=4, ge=1, le=32)


def _probe_request(body: object) -> ProbeRequest:
    try:
        return ProbeRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise RequestError(f"bad probe request: {problems}") from None


def _turn_request(chat: ChatRequest) -> TurnRequest:
    messages = chat.chat_messages()
    # An explicit `models` list is the chain; `model` then only names its first entry.
    model = None if chat.models or chat.model in DEFAULT_MODELS else chat.model
    return TurnRequest(
        messages,
        model=model,
        models=tuple(chat.models or ()),
        max_tokens=chat.max_completion_tokens or chat.max_tokens,
        temperature=chat.temperature,
    )


def _failed(exc: TurnFailed) -> Response:
    message = exc.message if not exc.fix else f"{exc.message} (fix: {exc.fix})"
    return _error(
        status_for(exc.failure.kind),
        message,
        code=exc.code,
        **{"x-clawgate-turn": exc.turn_id},
    )


async def _stream(runtime: Runtime, turn: TurnRequest, chat: ChatRequest) -> Response:
    """Headers wait for the first text, so they can name who answers; a turn that fails
    before any text is an ordinary error response."""
    events = runtime.stream(turn)
    first: Answering | None = None
    done: TurnResult | None = None
    try:
        async for event in events:
            if isinstance(event, Answering):
                first = event
                break
            if isinstance(event, TurnResult):  # an empty answer: no text, straight to the end
                first = Answering(event.turn_id, event.model, event.profile, event.fallback)
                done = event
                break
    except BaseException:
        await events.aclose()
        raise
    assert first is not None
    facts = (first.turn_id, first.model, first.profile, first.fallback)
    include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
    return StreamingResponse(
        _sse(events, first, done, include_usage),
        media_type="text/event-stream",
        headers={**_headers(*facts), "cache-control": "no-cache"},
    )


def _data(document: object) -> bytes:
    return f"data: {json.dumps(document)}\n\n".encode()


async def _sse(
    events: AsyncGenerator[TurnEvent, None],
    first: Answering,
    done: TurnResult | None,
    include_usage: bool,
) -> AsyncGenerator[bytes, None]:
    turn, model = first.turn_id, first.model
    yield _data(chunk(turn, model, delta={"role": "assistant", "content": ""}))
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if is_content(event):
                    yield _data(chunk(turn, model, delta={"content": event.text}))
                elif isinstance(event, TurnResult):
                    done = event
    except TurnFailed as exc:
        # Content was sent: the answer is cut. Say so in-band; never a normal finish.
        facts = _facts(turn, model, first.profile, first.fallback)
        cut = {**facts, "error": exc.code}
        yield _data(chunk(turn, model, finish_reason="error", clawgate=cut))
        yield _data(error_body(exc.message, code=exc.code, type_="api_error"))
    if done is not None:
        facts = _facts(done.turn_id, done.model, done.profile, done.fallback)
        yield _data(chunk(turn, model, finish_reason=done.finish_reason, clawgate=facts))
        if include_usage:
            yield _data(chunk(turn, model, usage=done.usage, choices=False))
    yield b"data: [DONE]\n\n"

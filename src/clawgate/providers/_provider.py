"""What every HTTP provider shares: its settings, its transport, and the one call shape
(send; relay the stream, or the JSON answer as the same events), with the two OpenAI wires
ready to use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from functools import partial
from typing import Any, ClassVar

import httpx

from clawgate.auth import Access
from clawgate.catalog import facts
from clawgate.clock import Clock
from clawgate.config import ProviderSettings, Timeouts
from clawgate.errorbody import ErrorBody
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import _chat_completions, _embeddings, _responses
from clawgate.providers._classify import Classifier
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._embeddings import EmbeddingRequest, Embeddings
from clawgate.providers._events import StreamEvent, UsageWindows
from clawgate.providers._http import HttpTransport
from clawgate.providers._stream import Wire, WireError, relay, relay_json

__all__ = ["HttpProvider", "Parse", "needs_profile"]

Parse = Callable[[dict[str, Any], str | None], Iterator[StreamEvent]]


class HttpProvider:
    default_base_url: ClassVar[str | None] = None

    def __init__(
        self, name: str, settings: ProviderSettings, *, clock: Clock | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        base_url = settings.base_url or self.default_base_url
        self.base_url = base_url.rstrip("/") if base_url else None
        classifier = Classifier(name, self.login_fix(), self.classify_more)
        self.transport = HttpTransport(classifier, settings.timeouts or Timeouts(), clock=clock)

    def login_fix(self) -> str:
        """What to do about a dead credential."""
        return f"log in again: {facts(self.name, self.settings).fix()}"

    def classify_more(self, error: ErrorBody) -> FailureClass | None:
        """A provider's own reading of an error body, before the shared code table."""
        return None

    def url(self, path: str, base_url: str | None = None) -> str:
        base = (base_url or self.base_url or "").rstrip("/")
        if not base:
            raise Failed(
                Failure(
                    FailureClass.UNAVAILABLE,
                    f"provider {self.name!r} has no base URL",
                    fix=f"set models.providers.{self.name}.baseUrl to the server's API address",
                )
            )
        return base + path

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return ()

    async def usage_windows(self, access: Access | None) -> UsageWindows | None:
        return None

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def call(
        self,
        url: str,
        body: Mapping[str, Any],
        *,
        stream: bool,
        wire: Wire,
        parse: Parse,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        async with self.transport.exchange(
            "POST", url, json_body=body, headers=headers, auth=auth
        ) as exchange:
            events = relay(exchange, wire) if stream else relay_json(exchange, parse)
            async with contextlib.aclosing(events):
                async for event in events:
                    yield event

    async def embeddings(
        self, url: str, request: EmbeddingRequest, *, auth: httpx.Auth | None = None
    ) -> Embeddings:
        """One ``POST …/embeddings`` on the same transport as a turn: the same deadlines,
        and its failures classified the same way."""
        async with self.transport.exchange(
            "POST", url, json_body=_embeddings.body(request), auth=auth
        ) as exchange:
            document = await exchange.json()
            try:
                return _embeddings.from_json(self.name, request, document, exchange.request_id)
            except WireError as exc:
                raise exchange.failed(exc.error) from None

    def chat_completions(
        self,
        url: str,
        request: ModelRequest,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        return self.call(
            url,
            _chat_completions.body(request, stream=request.stream),
            stream=request.stream,
            wire=_chat_completions.ChatCompletionsStream(self.name, request.model),
            parse=partial(_chat_completions.from_json, self.name, request.model),
            headers=headers,
            auth=auth,
        )

    def responses(
        self,
        url: str,
        request: ModelRequest,
        *,
        stream: bool,
        limits: bool = True,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        return self.call(
            url,
            _responses.body(request, stream=stream, limits=limits),
            stream=stream,
            wire=_responses.ResponsesStream(self.name, request.model),
            parse=partial(_responses.from_json, self.name, request.model),
            headers=headers,
            auth=auth,
        )


def needs_profile(name: str, settings: ProviderSettings) -> Failed:
    return Failed(
        Failure(
            FailureClass.AUTH_DEAD,
            f"{name} needs a logged-in profile",
            fix=facts(name, settings).fix(),
        )
    )

"""OpenAI's API with an API key (provider ``openai``), and any OpenAI-compatible server
(provider ``openai-compatible``, or any provider id with a ``baseUrl``): Ollama, vLLM, a
llama.cpp server, OpenRouter; with a key, or none.

``models.providers.<id>.api`` picks the wire: ``openai-completions`` (default) or
``openai-responses``. On Chat Completions, OpenAI's own API gets ``developer`` messages in
that role; an OpenAI-compatible server gets them as ``system`` (many refuse the newer role).
Both make embeddings (``POST {baseUrl}/embeddings``), whichever wire their turns use.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import ClassVar

from clawgate.auth import Access
from clawgate.catalog import facts
from clawgate.providers import _chat_completions, _responses
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._embeddings import EmbeddingRequest, Embeddings
from clawgate.providers._events import StreamEvent
from clawgate.providers._provider import HttpProvider
from clawgate.providers._registry import ProviderSpec

__all__ = ["COMPATIBLE", "SPEC", "OpenAICompatibleProvider", "OpenAIProvider"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HttpProvider):
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    # OpenAI's own API (not a server that copies it): `developer` and max_completion_tokens.
    openai_api: ClassVar[bool] = True

    def login_fix(self) -> str:
        return f"replace the key: {facts(self.name, self.settings).key_command()}"

    def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        auth = access.auth() if access else None
        if self.settings.api == "openai-responses":
            return self.responses(self.url("/responses"), request, stream=request.stream, auth=auth)
        return self.call(
            self.url("/chat/completions"),
            _chat_completions.body(request, stream=request.stream, openai=self.openai_api),
            stream=request.stream,
            wire=_chat_completions.ChatCompletionsStream(self.name, request.model),
            parse=partial(_chat_completions.from_json, self.name, request.model),
            auth=auth,
        )

    async def embed(self, request: EmbeddingRequest, access: Access | None = None) -> Embeddings:
        auth = access.auth() if access else None
        return await self.embeddings(self.url("/embeddings"), request, auth=auth)

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        if self.settings.api == "openai-responses":
            return _responses.dropped(request)
        return _chat_completions.dropped(request)


class OpenAICompatibleProvider(OpenAIProvider):
    """No default address: the server is wherever ``baseUrl`` says."""

    default_base_url = None
    openai_api = False


SPEC = ProviderSpec(
    name="openai",
    create=OpenAIProvider,
)

COMPATIBLE = ProviderSpec(
    name="openai-compatible",
    create=OpenAICompatibleProvider,
)

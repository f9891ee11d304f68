"""OpenAI's API with an API key (provider ``openai``), and any OpenAI-compatible server
(provider ``openai-compatible``, or any provider id with a ``baseUrl``): Ollama, vLLM, a
llama.cpp server, OpenRouter; with a key, or none.

``models.providers.<id>.api`` picks the wire: ``openai-completions`` (default) or
``openai-responses``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from clawgate.clock import Clock
from clawgate.config import ProviderSettings
from clawgate.providers import _chat_completions, _responses
from clawgate.providers._events import ModelRequest, StreamEvent
from clawgate.providers._http import Access
from clawgate.providers._provider import HttpProvider
from clawgate.providers._registry import ProviderSpec

__all__ = ["COMPATIBLE", "SPEC", "OpenAIProvider"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(HttpProvider):
    def __init__(
        self,
        name: str,
        settings: ProviderSettings,
        *,
        default_base_url: str | None = DEFAULT_BASE_URL,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            name,
            settings,
            default_base_url=default_base_url,
            login_fix=f"replace the key: clawgate models auth add --provider {name} "
            "--api-key-stdin",
            clock=clock,
        )
        self.responses = settings.api == "openai-responses"

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncIterator[StreamEvent]:
        auth = access.auth() if access else None
        if self.responses:
            url = self.url("/responses")
            body = _responses.body(request, stream=request.stream)
            wire: _responses.ResponsesStream | _chat_completions.ChatCompletionsStream
            wire = _responses.ResponsesStream(self.name, request.model)
            parse = partial(_responses.from_json, self.name, request.model)
        else:
            url = self.url("/chat/completions")
            body = _chat_completions.body(request, stream=request.stream)
            wire = _chat_completions.ChatCompletionsStream(self.name, request.model)
            parse = partial(_chat_completions.from_json, self.name, request.model)
        async for event in self.call(
            url, body, stream=request.stream, wire=wire, parse=parse, auth=auth
        ):
            yield event


SPEC = ProviderSpec(
    name="openai",
    billing="metered",
    create=OpenAIProvider,
    default_models=("gpt-4.1-mini",),
)

COMPATIBLE = ProviderSpec(
    name="openai-compatible",
    billing="metered",  # the profile's kind decides: a server with no key is free
    create=partial(OpenAIProvider, default_base_url=None),
)

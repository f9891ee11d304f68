"""Anthropic's Messages API (provider ``anthropic``) with an API key (``x-api-key``) or a
setup token (``Authorization: Bearer`` plus ``anthropic-beta: oauth-2025-04-20``).

``overloaded_error`` (HTTP 529) classifies as overloaded; a too-long prompt as context
overflow (see `anthropic_context_overflow`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial

import httpx

from clawgate.auth import Access, Credential
from clawgate.errorbody import ErrorBody
from clawgate.failures import FailureClass
from clawgate.providers import _messages
from clawgate.providers._classify import anthropic_context_overflow
from clawgate.providers._events import ModelRequest, StreamEvent
from clawgate.providers._provider import HttpProvider
from clawgate.providers._registry import ProviderSpec
from clawgate.vault import Kind

__all__ = ["SPEC", "AnthropicProvider"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
OAUTH_BETA = "oauth-2025-04-20"


def _credential(request: httpx.Request, credential: Credential) -> None:
    if credential.token is None:
        return
    if credential.kind is Kind.API_KEY:
        request.headers["x-api-key"] = credential.token.reveal()
    else:
        request.headers["Authorization"] = f"Bearer {credential.token.reveal()}"
        request.headers["anthropic-beta"] = OAUTH_BETA


class AnthropicProvider(HttpProvider):
    default_base_url = DEFAULT_BASE_URL
    login_fix = (
        "paste a new setup token (clawgate models auth paste-token --provider {name}) or add "
        "a new key (clawgate models auth add --provider {name} --api-key-stdin)"
    )

    def classify_more(self, error: ErrorBody) -> FailureClass | None:
        return anthropic_context_overflow(error)

    def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        return self.call(
            self.url("/v1/messages"),
            _messages.body(request, stream=request.stream),
            stream=request.stream,
            wire=_messages.MessagesStream(self.name, request.model),
            parse=partial(_messages.from_json, self.name, request.model),
            headers={"anthropic-version": API_VERSION},
            auth=access.auth(_credential) if access else None,
        )


SPEC = ProviderSpec(
    name="anthropic",
    billing="metered",  # a setup-token profile is a subscription: the profile's kind decides
    create=AnthropicProvider,
    default_models=("claude-sonnet-4-5",),
)

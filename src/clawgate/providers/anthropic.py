"""Anthropic's Messages API (provider ``anthropic``) with an API key (``x-api-key``) or a
setup token (``Authorization: Bearer`` plus ``anthropic-beta: oauth-2025-04-20``).

``overloaded_error`` (HTTP 529) classifies as overloaded; a too-long prompt as context
overflow (see `anthropic_context_overflow`). What the Messages API cannot say of a request is
left out and named by `dropped` (`_messages_encode`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from functools import partial

import httpx

from clawgate.auth import Access, Credential
from clawgate.catalog import facts
from clawgate.errorbody import ErrorBody
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import _messages
from clawgate.providers._classify import anthropic_context_overflow
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import StreamEvent
from clawgate.providers._provider import HttpProvider
from clawgate.providers._registry import ProviderSpec

__all__ = ["SPEC", "AnthropicProvider"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
OAUTH_BETA = "oauth-2025-04-20"


def _credential(request: httpx.Request, credential: Credential) -> None:
    if credential.token is None:
        return
    if credential.kind == "api_key":
        request.headers["x-api-key"] = credential.token.reveal()
    else:
        request.headers["Authorization"] = f"Bearer {credential.token.reveal()}"
        request.headers["anthropic-beta"] = OAUTH_BETA


class AnthropicProvider(HttpProvider):
    default_base_url = DEFAULT_BASE_URL

    def login_fix(self) -> str:
        known = facts(self.name, self.settings)
        return f"paste a new setup token ({known.fix()}) or add a new key ({known.key_command()})"

    def classify_more(self, error: ErrorBody) -> FailureClass | None:
        return anthropic_context_overflow(error)

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return _messages.dropped(request)

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        # A conversation the API cannot take fails here, as the stream's first step.
        document = _messages.body(request, stream=request.stream)
        events = self.call(
            self.url("/v1/messages"),
            document,
            stream=request.stream,
            wire=_messages.MessagesStream(self.name, request.model),
            parse=partial(_messages.from_json, self.name, request.model),
            headers={"anthropic-version": API_VERSION},
            auth=access.auth(_credential) if access else None,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def count_tokens(self, request: ModelRequest, access: Access | None = None) -> int:
        """The request's input tokens, as the API's own ``/v1/messages/count_tokens`` counts
        them (https://docs.anthropic.com/en/api/messages-count-tokens): the same body as a
        turn's, less what that endpoint does not take."""
        sent = _messages.body(request, stream=False)
        document = {k: v for k, v in sent.items() if k in _COUNTED}
        async with self.transport.exchange(
            "POST",
            self.url("/v1/messages/count_tokens"),
            json_body=document,
            headers={"anthropic-version": API_VERSION},
            auth=access.auth(_credential) if access else None,
        ) as exchange:
            tokens = (await exchange.json()).get("input_tokens")
            if not isinstance(tokens, int) or isinstance(tokens, bool):
                raise Failed(
                    Failure(
                        FailureClass.STREAM_BROKEN,
                        f"{self.name} answered count_tokens without input_tokens",
                        request_id=exchange.request_id,
                    )
                )
        return tokens


# What /v1/messages/count_tokens takes of a /v1/messages body.
_COUNTED = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking"})


SPEC = ProviderSpec(
    name="anthropic",
    create=AnthropicProvider,
)

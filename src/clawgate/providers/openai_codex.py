"""The ChatGPT subscription backend (provider ``openai-codex``), reached with the profile's
ChatGPT login (docs/auth.md, "Provider facts").

Turns go to ``{baseUrl}/codex/responses`` (Responses API, always streamed: the backend takes
nothing else) with the ChatGPT account id, ``OpenAI-Beta: responses=experimental``, the
``originator`` and a ``session_id``: the request's, which the runtime derives from the
conversation so it is the same for each of its turns and the backend's prompt cache hits (a
fresh one only when none is given). The body is the Responses API's without what the backend
refuses (`_responses.body` with ``backend=True``; `dropped` names it). Its usage limits arrive
as ``usage_limit_reached`` (with ``resets_at``) and ``usage_not_included`` and classify as
quota and entitlement.
`OpenAICodexProvider.usage` reads the 5-hour and weekly windows from ``{baseUrl}/wham/usage``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

import httpx

from clawgate.auth import Access, Credential, bearer
from clawgate.providers import _responses
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import StreamEvent, UsageWindow, UsageWindows
from clawgate.providers._provider import HttpProvider, needs_profile
from clawgate.providers._registry import ProviderSpec
from clawgate.providers._stream import count, mapping, text

__all__ = ["SPEC", "OpenAICodexProvider", "UsageWindow", "UsageWindows"]

DEFAULT_BASE_URL = "https://chatgpt.com/backend-api"
ORIGINATOR = "clawgate"


def _account(request: httpx.Request, credential: Credential) -> None:
    bearer(request, credential)
    if credential.account_id:
        request.headers["chatgpt-account-id"] = credential.account_id


def _window(raw: object, now: float) -> UsageWindow | None:
    window = mapping(raw)
    if not window:
        return None
    reset_at = window.get("reset_at")
    after = window.get("reset_after_seconds")
    if isinstance(reset_at, int | float) and not isinstance(reset_at, bool) and reset_at > 0:
        resets: float | None = float(reset_at)
    elif isinstance(after, int | float) and not isinstance(after, bool):
        resets = now + float(after)
    else:
        resets = None
    seconds = window.get("limit_window_seconds")
    return UsageWindow(
        used_percent=count(window.get("used_percent")),
        window_seconds=seconds if isinstance(seconds, int) else None,
        resets_at=resets,
    )


class OpenAICodexProvider(HttpProvider):
    default_base_url = DEFAULT_BASE_URL

    def _headers(self, session_id: str | None) -> dict[str, str]:
        return {
            "OpenAI-Beta": "responses=experimental",
            "originator": ORIGINATOR,
            "session_id": session_id or str(uuid.uuid4()),
            "Accept": "text/event-stream",
        }

    def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        if access is None:
            raise needs_profile(self.name, self.settings)
        return self.call(
            self.url("/codex/responses"),
            _responses.body(request, stream=True, backend=True),
            stream=True,
            wire=_responses.ResponsesStream(self.name, request.model),
            parse=partial(_responses.from_json, self.name, request.model),
            headers=self._headers(request.session_id),
            auth=access.auth(_account),
        )

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return _responses.dropped(request, backend=True)

    async def usage_windows(self, access: Access | None) -> UsageWindows | None:
        """The subscription's 5-hour and weekly windows, from ``/wham/usage``."""
        if access is None:
            return None
        async with self.transport.exchange(
            "GET",
            self.url("/wham/usage"),
            headers={"Accept": "application/json"},
            auth=access.auth(_account),
        ) as exchange:
            document: dict[str, Any] = await exchange.json()
        now = self.transport.clock.now()
        limits = mapping(document.get("rate_limit"))
        return UsageWindows(
            plan=text(document.get("plan_type")),
            primary=_window(limits.get("primary_window"), now),
            secondary=_window(limits.get("secondary_window"), now),
            limit_reached=limits.get("limit_reached") is True,
        )


SPEC = ProviderSpec(
    name="openai-codex",
    create=OpenAICodexProvider,
)

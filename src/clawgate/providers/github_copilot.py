"""GitHub Copilot's chat API (provider ``github-copilot``): Chat Completions against the host
the short-lived Copilot token names, with that token as the bearer (the broker makes and
renews it from the GitHub login, AUTH.md).

The request is Chat Completions' with ``developer`` messages sent as ``system``, the role
every Chat Completions server takes. Which options a model refuses (``top_p`` for some,
``max_tokens`` for the newest OpenAI ones) is the model's business, not the API's: nothing is
dropped up front, and a refusal comes back as the classified 400 it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import ClassVar

from clawgate import __version__
from clawgate.auth import Access
from clawgate.providers import _chat_completions
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import StreamEvent
from clawgate.providers._provider import HttpProvider, needs_profile
from clawgate.providers._registry import ProviderSpec

__all__ = ["SPEC", "GitHubCopilotProvider"]

DEFAULT_BASE_URL = "https://api.githubcopilot.com"


class GitHubCopilotProvider(HttpProvider):
    default_base_url = DEFAULT_BASE_URL
    headers: ClassVar[dict[str, str]] = {
        "Copilot-Integration-Id": "vscode-chat",
        "Editor-Version": f"clawgate/{__version__}",
        "Editor-Plugin-Version": f"clawgate/{__version__}",
        "OpenAI-Intent": "conversation-panel",
    }

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return _chat_completions.dropped(request)

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        if access is None:
            raise needs_profile(self.name, self.settings)
        # The Copilot token names its API host; configured baseUrl wins (tests, proxies).
        credential = await access.credential()
        base = self.settings.base_url or credential.base_url
        events = self.chat_completions(
            self.url("/chat/completions", base), request, headers=self.headers, auth=access.auth()
        )
        async with contextlib.aclosing(events):
            async for event in events:
                yield event


SPEC = ProviderSpec(
    name="github-copilot",
    create=GitHubCopilotProvider,
)

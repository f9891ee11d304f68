"""GitHub Copilot's chat API (provider ``github-copilot``): Chat Completions against the host
the short-lived Copilot token names, with that token as the bearer (the broker makes and
renews it from the GitHub login, AUTH.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from clawgate import __version__
from clawgate.clock import Clock
from clawgate.config import ProviderSettings
from clawgate.providers import _chat_completions
from clawgate.providers._events import ModelRequest, StreamEvent
from clawgate.providers._http import Access
from clawgate.providers._provider import HttpProvider, needs_profile
from clawgate.providers._registry import ProviderSpec

__all__ = ["SPEC", "GitHubCopilotProvider"]

DEFAULT_BASE_URL = "https://api.githubcopilot.com"


class GitHubCopilotProvider(HttpProvider):
    def __init__(
        self, name: str, settings: ProviderSettings, *, clock: Clock | None = None
    ) -> None:
        super().__init__(
            name,
            settings,
            default_base_url=DEFAULT_BASE_URL,
            login_fix=f"log in again: clawgate models auth login --provider {name} --device-code",
            clock=clock,
        )
        self.headers = {
            "Copilot-Integration-Id": "vscode-chat",
            "Editor-Version": f"clawgate/{__version__}",
            "Editor-Plugin-Version": f"clawgate/{__version__}",
            "OpenAI-Intent": "conversation-panel",
        }

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncIterator[StreamEvent]:
        if access is None:
            raise needs_profile(self.name)
        # The Copilot token names its API host; configured baseUrl wins (tests, proxies).
        credential = await access.credential()
        base = self.settings.base_url or credential.base_url
        async for event in self.call(
            self.url("/chat/completions", base),
            _chat_completions.body(request, stream=request.stream),
            stream=request.stream,
            wire=_chat_completions.ChatCompletionsStream(self.name, request.model),
            parse=partial(_chat_completions.from_json, self.name, request.model),
            headers=self.headers,
            auth=access.auth(),
        ):
            yield event


SPEC = ProviderSpec(
    name="github-copilot",
    billing="subscription",
    create=GitHubCopilotProvider,
    default_models=("gpt-4.1",),
)

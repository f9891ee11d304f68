"""GitHub Copilot's chat API (provider ``github-copilot``): Chat Completions against the host
the short-lived Copilot token names, with that token as the bearer (the broker makes and
renews it from the GitHub login, docs/auth.md).

The request is Chat Completions' with ``developer`` messages sent as ``system``, the role
every Chat Completions server takes. Some models Copilot serves only on its Responses endpoint
(and refuses elsewhere with ``unsupported_api_for_model``): for those, and for any model whose
config entry says ``api: "openai-responses"``, the Responses wire is spoken instead; the
refusal itself is a configuration error naming that fix, never retried.

Which options a model refuses (``top_p`` for some, ``max_tokens`` for the newest OpenAI ones)
is the model's business, not the API's: nothing is dropped up front, and a refusal comes back
as the classified 400 it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import ClassVar

from clawgate import __version__
from clawgate.auth import Access
from clawgate.errorbody import ErrorBody
from clawgate.failures import FailureClass
from clawgate.providers import _chat_completions, _responses
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import StreamEvent
from clawgate.providers._provider import HttpProvider, needs_profile
from clawgate.providers._registry import ProviderSpec

__all__ = ["SPEC", "GitHubCopilotProvider"]

DEFAULT_BASE_URL = "https://api.githubcopilot.com"
# Models Copilot serves on /responses only (its Codex models, as of 2026-12); a model's own
# config entry (`api`) says otherwise or adds more.
RESPONSES_ONLY = frozenset(
    {"gpt-5-codex", "gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.1-codex-max"}
)


class GitHubCopilotProvider(HttpProvider):
    default_base_url = DEFAULT_BASE_URL
    headers: ClassVar[dict[str, str]] = {
        "Copilot-Integration-Id": "vscode-chat",
        "Editor-Version": f"clawgate/{__version__}",
        "Editor-Plugin-Version": f"clawgate/{__version__}",
        "OpenAI-Intent": "conversation-panel",
    }

    def classify_more(self, error: ErrorBody) -> FailureClass | None:
        if "unsupported_api_for_model" in error.codes:
            return FailureClass.UNAVAILABLE
        return None

    def _responses_only(self, model: str) -> bool:
        entry = next((m for m in self.settings.models if m.id == model), None)
        if entry is not None and entry.api is not None:
            return entry.api == "openai-responses"
        return model in RESPONSES_ONLY

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        if self._responses_only(request.model):
            return _responses.dropped(request)
        return _chat_completions.dropped(request)

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        if access is None:
            raise needs_profile(self.name, self.settings)
        # The Copilot token names its API host; configured baseUrl wins (tests, proxies).
        credential = await access.credential()
        base = self.settings.base_url or credential.base_url
        if self._responses_only(request.model):
            events = self.responses(
                self.url("/responses", base),
                request,
                stream=request.stream,
                headers=self.headers,
                auth=access.auth(),
            )
        else:
            events = self.chat_completions(
                self.url("/chat/completions", base),
                request,
                headers=self.headers,
                auth=access.auth(),
            )
        async with contextlib.aclosing(events):
            async for event in events:
                yield event


SPEC = ProviderSpec(
    name="github-copilot",
    create=GitHubCopilotProvider,
)

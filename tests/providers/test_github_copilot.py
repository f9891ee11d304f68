"""GitHub Copilot serves some models on its Responses endpoint only: the wire is chosen per
model (built-in knowledge, or the model's config entry), and Copilot's refusal of a model on
the wrong API is a configuration error with its fix, never a retryable failure."""

from __future__ import annotations

import pytest

from clawgate.config import ProviderSettings
from clawgate.errors import Failed
from clawgate.providers import Completed, ModelRequest, Options, TextDelta
from clawgate.providers.github_copilot import RESPONSES_ONLY, GitHubCopilotProvider
from tests.fakes.model_api import FakeModelAPI, error
from tests.providers.conftest import HELLO, Harness

pytestmark = pytest.mark.anyio

REFUSED = error(
    400,
    {
        "error": {
            "message": 'model "gpt-5-codex" is not accessible via the /chat/completions endpoint',
            "code": "unsupported_api_for_model",
        }
    },
)


def copilot(harness: Harness, **models: str) -> GitHubCopilotProvider:
    provider = harness.provider("github-copilot")
    assert isinstance(provider, GitHubCopilotProvider)
    raw = provider.settings.model_dump(by_alias=True, exclude_none=True)
    raw["models"] = [{"id": model, "api": api} for model, api in models.items()]
    return GitHubCopilotProvider(
        provider.name, ProviderSettings.model_validate(raw), clock=harness.clock
    )


async def test_a_responses_only_model_is_asked_on_responses(harness: Harness) -> None:
    model = sorted(RESPONSES_ONLY)[0]
    events = await harness.run("github-copilot", ModelRequest(model, HELLO))
    assert isinstance(events[-1], Completed)
    assert "".join(e.text for e in events if isinstance(e, TextDelta))
    seen = harness.api.seen[-1]
    assert seen.path == "/responses"
    assert seen.body["model"] == model
    assert seen.headers["copilot-integration-id"] == "vscode-chat"


async def test_the_config_decides_a_models_wire(harness: Harness) -> None:
    provider = copilot(
        harness, **{"my-model": "openai-responses", "gpt-5-codex": "openai-completions"}
    )
    await harness.run("github-copilot", ModelRequest("my-model", HELLO), provider=provider)
    assert harness.api.seen[-1].path == "/responses"
    provider = copilot(harness, **{"gpt-5-codex": "openai-completions"})
    await harness.run("github-copilot", ModelRequest("gpt-5-codex", HELLO), provider=provider)
    assert harness.api.seen[-1].path == "/chat/completions"


async def test_dropped_follows_the_wire(harness: Harness) -> None:
    provider = harness.provider("github-copilot")
    asked = ModelRequest("m", HELLO, options=Options(seed=7))
    assert provider.dropped(asked) == ()  # Chat Completions can say it
    on_responses = ModelRequest(sorted(RESPONSES_ONLY)[0], HELLO, options=Options(seed=7))
    assert provider.dropped(on_responses) == ("seed",)
    await provider.aclose()


async def test_a_model_on_the_wrong_api_is_a_configuration_error(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(REFUSED)
    provider = copilot(harness, **{"gpt-5-codex": "openai-completions"})
    with pytest.raises(Failed) as info:
        await harness.run("github-copilot", ModelRequest("gpt-5-codex", HELLO), provider=provider)
    assert info.value.code == "unavailable"  # routing moves to the next model, no retry
    assert info.value.failure.code == "unsupported_api_for_model"
    assert info.value.fix is not None
    assert '"api": "openai-responses"' in info.value.fix

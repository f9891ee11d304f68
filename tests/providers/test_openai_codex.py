"""The ChatGPT backend's usage windows (``/backend-api/wham/usage``), read with the profile's
login as a turn would be."""

from __future__ import annotations

import pytest

from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.providers import UsageWindow, UsageWindows
from clawgate.providers.openai_codex import OpenAICodexProvider
from tests.fakes.model_api import CODEX, FakeModelAPI, Reply
from tests.providers.conftest import ACCOUNT, NOW, Harness

pytestmark = pytest.mark.anyio


async def usage(harness: Harness) -> UsageWindows:
    provider = harness.provider("openai-codex")
    assert isinstance(provider, OpenAICodexProvider)
    access = harness.access("openai-codex")
    assert access is not None
    try:
        windows = await provider.usage_windows(access)
    finally:
        await provider.aclose()
    assert windows is not None
    return windows


async def test_the_five_hour_and_weekly_windows(harness: Harness, api: FakeModelAPI) -> None:
    windows = await usage(harness)
    assert windows.plan == "plus"
    assert windows.primary == UsageWindow(42, 18000, 1900003600.0)
    assert windows.secondary == UsageWindow(7, 604800, 1900400000.0)
    assert windows.limit_reached is False
    seen = api.seen[-1]
    assert (seen.method, seen.path) == ("GET", "/backend-api/wham/usage")
    assert seen.headers["chatgpt-account-id"] == ACCOUNT
    assert seen.headers["authorization"].startswith("Bearer ")


async def test_a_window_without_reset_at_counts_from_now(
    harness: Harness, api: FakeModelAPI
) -> None:
    body = {
        "plan_type": "pro",
        "rate_limit": {
            "limit_reached": True,
            "primary_window": {"used_percent": 100, "reset_after_seconds": 600},
        },
    }
    api.script(Reply(body=body))
    windows = await usage(harness)
    assert windows.primary == UsageWindow(100, None, NOW + 600)
    assert windows.secondary is None
    assert windows.limit_reached is True


async def test_usage_failures_are_classified_like_turns(
    harness: Harness, api: FakeModelAPI
) -> None:
    api.script(CODEX["503"])
    with pytest.raises(Failed) as failure:
        await usage(harness)
    assert failure.value.failure.kind is FailureClass.OVERLOADED

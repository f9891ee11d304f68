"""The openai-compatible transport against a real OpenAI-compatible server: the embedded
engine's own llama.cpp HTTP listener on loopback, behind its API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from clawgate.auth import Access, Broker
from clawgate.clock import ManualClock
from clawgate.config import ProviderSettings, Settings
from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.providers import (
    Completed,
    Message,
    ModelRequest,
    Providers,
    StreamEvent,
    TextDelta,
)
from clawgate.providers.local._engine import Engine, load_engine
from clawgate.providers.local._files import bundled_model_path
from clawgate.vault import ApiKeyMaterial, KeyResolver, Vault

pytestmark = pytest.mark.anyio
PROFILE = "llama:default"
HELLO = (Message("user", "Say hello."),)


@pytest.fixture
async def engine() -> Engine:
    return await load_engine(bundled_model_path())


@pytest.fixture
def providers(engine: Engine) -> Providers:
    # A provider id clawgate does not know, with a baseUrl: it speaks its `api`.
    settings = ProviderSettings.model_validate(
        {"baseUrl": engine.listening_address + "/v1", "api": "openai-completions"}
    )
    return Providers({"llama": settings})


@pytest.fixture
async def access(tmp_path: Path, engine: Engine) -> AsyncIterator[Access]:
    clock = ManualClock()
    vault = Vault(tmp_path / "vault", KeyResolver(tmp_path / "vault", {}), clock=clock)
    vault.save(PROFILE, "llama", ApiKeyMaterial(engine.api_key))
    async with httpx.AsyncClient() as http:
        yield Access(Broker(vault, Settings(), http=http, clock=clock), PROFILE)


async def run(
    providers: Providers, request: ModelRequest, access: Access | None
) -> list[StreamEvent]:
    try:
        return [e async for e in providers.get("llama").stream(request, access)]
    finally:
        await providers.aclose()


async def test_the_engine_listens_on_loopback_only(engine: Engine) -> None:
    assert urlsplit(engine.listening_address).hostname == "127.0.0.1"


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "json"])
async def test_an_answer_with_usage(providers: Providers, access: Access, streamed: bool) -> None:
    request = ModelRequest("smollm2", HELLO, max_tokens=8, temperature=0, stream=streamed)
    events = await run(providers, request, access)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    final = events[-1]
    assert isinstance(final, Completed)
    assert text.strip()
    assert final.finish_reason in ("length", "stop")
    assert final.usage is not None
    assert final.usage.input_tokens > 0
    assert 0 < final.usage.output_tokens <= 8
    assert final.request_id  # the completion id llama.cpp gives
    if streamed:
        assert len([e for e in events if isinstance(e, TextDelta)]) > 1


async def test_streamed_and_unstreamed_answers_agree_at_temperature_zero(
    providers: Providers, access: Access
) -> None:
    texts = []
    for streamed in (True, False):
        request = ModelRequest("smollm2", HELLO, max_tokens=8, temperature=0, stream=streamed)
        events = await run(providers, request, access)
        texts.append("".join(e.text for e in events if isinstance(e, TextDelta)))
    assert texts[0] == texts[1]


async def test_without_the_key_the_server_refuses_and_it_is_auth_dead(
    providers: Providers,
) -> None:
    with pytest.raises(Failed) as failure:
        await run(providers, ModelRequest("smollm2", HELLO, max_tokens=4), None)
    assert failure.value.failure.kind is FailureClass.AUTH_DEAD
    assert failure.value.failure.status == 401


async def test_a_prompt_larger_than_the_context_is_context_overflow(
    providers: Providers, access: Access
) -> None:
    too_long = (Message("user", "hello " * 6000),)
    with pytest.raises(Failed) as failure:
        await run(providers, ModelRequest("smollm2", too_long, max_tokens=4), access)
    assert failure.value.failure.kind is FailureClass.CONTEXT_OVERFLOW
    assert failure.value.failure.code == "exceed_context_size_error"

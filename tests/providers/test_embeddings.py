"""Embeddings from each provider that makes them: OpenAI's API (its key from the broker) and an
OpenAI-compatible server, on the fake (the documented body both ways, every documented error
classified as a chat request's is, a malformed answer refused); the same transport against a
real server, llama.cpp's own listener in embedding mode; and the embedded engine itself."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from clawgate.auth import Access, Broker
from clawgate.catalog import dimensions, embeds
from clawgate.clock import ManualClock
from clawgate.config import ProviderSettings, Settings
from clawgate.errors import Failed
from clawgate.failures import FailureClass as F
from clawgate.providers import Embedder, EmbeddingRequest, Embeddings, Providers
from clawgate.providers.local import LocalProvider
from clawgate.providers.local._engine import Engine, load_engine
from clawgate.providers.local._files import bundled_model_path
from clawgate.providers.openai import OpenAICompatibleProvider
from clawgate.vault import ApiKeyMaterial, KeyResolver, Vault
from tests.canary import CANARY
from tests.fakes import embeddings as fake
from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply
from tests.providers.conftest import Harness

pytestmark = pytest.mark.anyio

WORDS = ("the cat", "sat down on the mat")
REQUEST = EmbeddingRequest("text-embedding-3-small", WORDS)


def compatible(api: FakeModelAPI) -> OpenAICompatibleProvider:
    settings = ProviderSettings.model_validate(
        {
            "baseUrl": f"{api.url}/emb/v1",
            "timeouts": {"connect": 2, "firstToken": 5, "idle": 5, "total": 10},
        }
    )
    return OpenAICompatibleProvider("emb", settings)


async def embed(
    provider: Embedder, request: EmbeddingRequest = REQUEST, access: Access | None = None
) -> Embeddings:
    try:
        return await provider.embed(request, access)
    finally:
        await provider.aclose()  # type: ignore[attr-defined]


async def test_openai_with_its_key_from_the_broker(harness: Harness, api: FakeModelAPI) -> None:
    api.script(Reply(body=fake.embedding_json(WORDS, 1536)))
    provider = harness.provider("openai")
    assert isinstance(provider, Embedder)
    answer = await embed(provider, REQUEST, harness.access("openai"))
    assert answer.vectors == tuple(tuple(fake.vector(w, 1536)) for w in WORDS)
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.model) == (7, "text-embedding-3-small")
    [seen] = api.seen
    assert (seen.method, seen.path) == ("POST", "/v1/embeddings")
    assert seen.headers["authorization"] == "Bearer " + CANARY
    assert seen.body == {
        "model": "text-embedding-3-small",
        "input": list(WORDS),
        "encoding_format": "float",
    }


async def test_dimensions_and_user_are_sent_as_asked(api: FakeModelAPI) -> None:
    api.default = fake.answering({"/emb/": 8}, api.default)
    request = EmbeddingRequest("e", ("one",), dimensions=4, user="u-1")
    answer = await embed(compatible(api), request)
    assert answer.vectors == (tuple(fake.vector("one", 4)),)
    assert api.seen[-1].body == {
        "model": "e",
        "input": ["one"],
        "encoding_format": "float",
        "dimensions": 4,
        "user": "u-1",
    }
    assert "authorization" not in api.seen[-1].headers  # a keyless server


async def test_a_base64_answer_is_read_as_float32_little_endian(api: FakeModelAPI) -> None:
    api.script(Reply(body=fake.embedding_json(WORDS, 8, encoding="base64")))
    answer = await embed(compatible(api))
    assert answer.vectors == tuple(tuple(fake.vector(w, 8)) for w in WORDS)


async def test_vectors_come_back_in_input_order(api: FakeModelAPI) -> None:
    body = fake.embedding_json(WORDS, 8)
    body["data"].reverse()
    api.script(Reply(body=body))
    answer = await embed(compatible(api))
    assert answer.vectors == tuple(tuple(fake.vector(w, 8)) for w in WORDS)


EXPECTED = {
    "unauthorized": F.AUTH_DEAD,
    "model": F.MODEL_NOT_FOUND,
    "rate_limit_retry_after": F.RATE_LIMIT,
    "usage_limit": F.BILLING,
    "500": F.SERVER_ERROR,
    "502": F.SERVER_ERROR,
    "503": F.OVERLOADED,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_documented_errors_are_classified_as_for_chat(api: FakeModelAPI, name: str) -> None:
    reply = OPENAI[name]
    api.script(reply)
    with pytest.raises(Failed) as failed:
        await embed(compatible(api))
    assert failed.value.failure.kind is EXPECTED[name]
    assert failed.value.failure.status == reply.status
    if name == "rate_limit_retry_after":
        assert failed.value.failure.retry_after == 7.0


async def test_an_error_inside_a_200_is_classified(api: FakeModelAPI) -> None:
    api.script(Reply(body=OPENAI["rate_limit"].body))
    with pytest.raises(Failed) as failed:
        await embed(compatible(api))
    assert failed.value.failure.kind is F.RATE_LIMIT


@pytest.mark.parametrize(
    "data",
    [
        [{"object": "embedding", "index": 0, "embedding": [0.5]}],  # one vector for two inputs
        [{"index": 0, "embedding": [0.5]}, {"index": 1, "embedding": "not base64!"}],
        [{"index": 0, "embedding": [0.5]}, {"index": 1, "embedding": [0.5, 0.25]}],
        [{"index": 0, "embedding": [0.5]}, {"index": 1, "embedding": ["x"]}],
    ],
    ids=["count", "base64", "lengths", "numbers"],
)
async def test_a_malformed_answer_is_refused(api: FakeModelAPI, data: list[object]) -> None:
    api.script(Reply(body={"object": "list", "data": data, "model": "e"}))
    with pytest.raises(Failed) as failed:
        await embed(compatible(api))
    assert failed.value.failure.kind is F.STREAM_BROKEN


def test_the_catalog_says_which_providers_embed() -> None:
    assert embeds("openai", None)
    assert embeds("local", None)
    assert not embeds("anthropic", None)
    assert not embeds("openai-codex", None)
    assert embeds("ollama", ProviderSettings(base_url="http://127.0.0.1:11434/v1"))
    assert not embeds("claude-proxy", ProviderSettings(api="anthropic-messages"))
    assert dimensions("openai", "text-embedding-3-large", None) == 3072
    assert dimensions("local", "smollm2-135m", None) == 576
    entry = ProviderSettings.model_validate({"models": [{"id": "nomic", "dimensions": 768}]})
    assert dimensions("ollama", "nomic", entry) == 768
    assert dimensions("ollama", "other", entry) is None


# -- for real: llama.cpp ------------------------------------------------------------------------


def norm(vector: tuple[float, ...]) -> float:
    return math.sqrt(sum(x * x for x in vector))


async def test_the_embedded_model_makes_normalized_576_long_vectors() -> None:
    provider = LocalProvider("local", ProviderSettings())
    answer = await embed(provider, EmbeddingRequest("smollm2-135m", (*WORDS, WORDS[0])))
    assert answer.model == "smollm2-135m"
    assert [len(v) for v in answer.vectors] == [576, 576, 576]
    assert all(abs(norm(v) - 1) < 1e-4 for v in answer.vectors)
    assert answer.vectors[0] == answer.vectors[2]
    assert answer.vectors[0] != answer.vectors[1]
    assert answer.usage is not None
    assert answer.usage.input_tokens > 0
    # Its own engine: the chat engine's settings are not touched.
    chat = await provider.engine("smollm2-135m")
    assert chat is not await load_engine(bundled_model_path(), embedding=True)


async def test_an_input_longer_than_the_context_is_context_overflow() -> None:
    with pytest.raises(Failed) as failed:
        await embed(
            LocalProvider("local", ProviderSettings()),
            EmbeddingRequest("smollm2-135m", ("word " * 5000,)),
        )
    assert failed.value.failure.kind is F.CONTEXT_OVERFLOW
    assert "too large" in failed.value.message


async def test_an_unknown_local_model_is_model_not_found() -> None:
    with pytest.raises(Failed) as failed:
        await embed(LocalProvider("local", ProviderSettings()), EmbeddingRequest("nope", ("x",)))
    assert failed.value.failure.kind is F.MODEL_NOT_FOUND


@pytest.fixture
async def embedding_engine() -> Engine:
    return await load_engine(bundled_model_path(), embedding=True)


@pytest.fixture
async def llama_access(tmp_path: Path, embedding_engine: Engine) -> AsyncIterator[Access]:
    clock = ManualClock()
    vault = Vault(tmp_path / "vault", KeyResolver(tmp_path / "vault", {}), clock=clock)
    vault.save("llama:default", "llama", ApiKeyMaterial(embedding_engine.api_key))
    async with httpx.AsyncClient() as http:
        yield Access(Broker(vault, Settings(), http=http, clock=clock), "llama:default")


async def test_an_openai_compatible_server_for_real(
    embedding_engine: Engine, llama_access: Access
) -> None:
    settings = ProviderSettings.model_validate(
        {"baseUrl": embedding_engine.listening_address + "/v1", "api": "openai-completions"}
    )
    providers = Providers({"llama": settings})
    try:
        provider = providers.get("llama")
        assert isinstance(provider, Embedder)
        answer = await provider.embed(EmbeddingRequest("smollm2", WORDS), llama_access)
        with pytest.raises(Failed) as refused:
            await provider.embed(EmbeddingRequest("smollm2", WORDS), None)  # no key
    finally:
        await providers.aclose()
    assert [len(v) for v in answer.vectors] == [576, 576]
    assert answer.usage is not None
    assert answer.usage.input_tokens > 0
    assert refused.value.failure.kind is F.AUTH_DEAD
    # The same engine, asked in-process, gives the same vectors.
    local = await embed(
        LocalProvider("local", ProviderSettings()), EmbeddingRequest("smollm2-135m", WORDS)
    )
    assert all(
        max(abs(a - b) for a, b in zip(x, y, strict=True)) < 1e-5
        for x, y in zip(answer.vectors, local.vectors, strict=True)
    )

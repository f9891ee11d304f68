"""Chat Completions answers with tool calls and refusals, as OpenAI documents them
(https://platform.openai.com/docs/api-reference/chat-streaming and
https://platform.openai.com/docs/guides/function-calling): streamed ``chat.completion.chunk``
frames (for `tests.fakes.model_api.stream`) and non-streamed ``chat.completion`` bodies.

A streamed call's first piece carries its ``index``, ``id``, ``type`` and ``function.name``
with empty arguments; each later piece carries the ``index`` and a fragment of
``function.arguments``. The finish chunk says ``tool_calls``; the usage chunk (empty
``choices``) has the prompt-cache and reasoning token details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.model_api import Frames, sse

__all__ = [
    "CHUNK_ID",
    "MODEL",
    "REFUSAL",
    "TIME",
    "WEATHER",
    "Call",
    "chunk",
    "refusal_frames",
    "refusal_json",
    "tool_call_frames",
    "tool_call_json",
    "usage_body",
]

MODEL = "gpt-4.1-2025-04-14"
CHUNK_ID = "chatcmpl-BHr9PqVZ3bCfnhTzz4l2nOkmCgOyq"


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    fragments: tuple[str, ...]  # the arguments, as the pieces stream them

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


WEATHER = Call("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", ('{"', "location", '":"Paris"}'))
TIME = Call("call_7Hx2QbVnM1s0cRk3LpT9wZyA", "get_time", ('{"tz":', '"Europe/Paris"}'))


def usage_body(
    prompt: int = 82, completion: int = 18, *, cached: int = 64, reasoning: int = 0
) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chunk(delta: dict[str, Any], reason: str | None = None, *, model: str = MODEL) -> bytes:
    return sse(
        {
            "id": CHUNK_ID,
            "object": "chat.completion.chunk",
            "created": 1743900571,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_b376dfbbd5",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
        }
    )


def _usage_chunk(usage: dict[str, Any], model: str) -> bytes:
    return sse(
        {
            "id": CHUNK_ID,
            "object": "chat.completion.chunk",
            "created": 1743900571,
            "model": model,
            "choices": [],
            "usage": usage,
        }
    )


def tool_call_frames(
    *calls: Call,
    text: tuple[str, ...] = (),
    finish: str = "tool_calls",
    usage: dict[str, Any] | None = None,
    model: str = MODEL,
) -> Frames:
    """Text first (if any), then each call: its opening piece, then its argument pieces."""
    opening = {"role": "assistant", "content": "" if text else None, "refusal": None}
    pieces: list[bytes] = [chunk({"content": t}, model=model) for t in text]
    for index, call in enumerate(calls):
        first = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        pieces.append(chunk({"tool_calls": [first]}, model=model))
        pieces += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": f}}]}, model=model)
            for f in call.fragments
        ]
    return Frames(
        start=(chunk(opening, model=model),),
        deltas=tuple(pieces),
        end=(
            chunk({}, finish, model=model),
            _usage_chunk(usage or usage_body(), model),
            sse("[DONE]"),
        ),
    )


def tool_call_json(
    *calls: Call,
    text: str | None = None,
    finish: str = "tool_calls",
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1699896916,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in calls
                    ],
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": usage or usage_body(),
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb",
    }


REFUSAL = ("I'm sorry,", " I can't help with that.")


def refusal_frames(parts: tuple[str, ...] = REFUSAL) -> Frames:
    """A refusal: ``delta.refusal`` pieces instead of content, and an ordinary ``stop``."""
    return Frames(
        start=(chunk({"role": "assistant", "content": None, "refusal": ""}),),
        deltas=tuple(chunk({"refusal": p}) for p in parts),
        end=(chunk({}, "stop"), _usage_chunk(usage_body(cached=0), MODEL), sse("[DONE]")),
    )


def refusal_json(parts: tuple[str, ...] = REFUSAL) -> dict[str, Any]:
    return {
        "id": "chatcmpl-refusal",
        "object": "chat.completion",
        "created": 1699896916,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "".join(parts)},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage_body(cached=0),
    }

"""Anthropic Messages answers that call tools, as the API documents them: a streamed answer
(text, then one ``tool_use`` block per call whose input arrives as ``input_json_delta``
pieces, optionally after a ``thinking`` block) and the JSON body of an unstreamed one
(https://docs.anthropic.com/en/docs/build-with-claude/streaming,
https://docs.anthropic.com/en/docs/build-with-claude/tool-use).

Usage carries the prompt-cache counts the API reports beside ``input_tokens``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.fakes.model_api import Frames, sse

MODEL = "claude-sonnet-4-5-20250929"


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    pieces: tuple[str, ...]  # the input's JSON text, as the partial_json deltas split it

    @property
    def input(self) -> dict[str, Any]:
        text = "".join(self.pieces)
        return json.loads(text) if text else {}


# The documented stream's call: its first delta is empty, its pieces split mid-word.
WEATHER = Call(
    "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
    "get_weather",
    ("", '{"location":', ' "San', " Francisc", "o,", ' CA"', ", ", '"unit": "fah', 'renheit"}'),
)
TIME = Call(
    "toolu_01QjNk7U3hLCG1Eb8YfQzcvu",
    "get_time",
    ('{"timezone": ', '"America/Los_Angeles"}'),
)
# A call of a tool without parameters: its input streams no text at all.
NO_INPUT = Call("toolu_01Bz7b2ZpR1aY5f9wN4kq8Xe", "list_alarms", ())

SAID = ("Okay", ", let's check the weather for San Francisco, CA:")
THOUGHT = (
    "The user wants the weather in San Francisco.",
    " I should call get_weather.",
)
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"

# Token counts as the API reports them: input_tokens leaves out the cache's share.
USAGE = {"input_tokens": 472, "cache_creation_input_tokens": 50, "cache_read_input_tokens": 1800}
OUTPUT_TOKENS = 89


def _event(kind: str, **fields: Any) -> bytes:
    return sse({"type": kind, **fields}, kind)


def _block(index: int, block: dict[str, Any], deltas: list[dict[str, Any]]) -> list[bytes]:
    return [
        _event("content_block_start", index=index, content_block=block),
        *(_event("content_block_delta", index=index, delta=d) for d in deltas),
        _event("content_block_stop", index=index),
    ]


def tool_frames(
    calls: tuple[Call, ...] = (WEATHER,),
    *,
    said: tuple[str, ...] = SAID,
    thinking: bool = False,
    model: str = MODEL,
    usage: dict[str, int] | None = None,
) -> Frames:
    """Message start; a thinking block if asked; a text block of ``said`` (if any); one
    ``tool_use`` block per call; then the ``tool_use`` stop and ``message_stop``."""
    message: dict[str, Any] = {
        "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**(USAGE if usage is None else usage), "output_tokens": 2},
    }
    blocks: list[bytes] = []
    index = 0
    if thinking:
        deltas = [{"type": "thinking_delta", "thinking": t} for t in THOUGHT]
        deltas.append({"type": "signature_delta", "signature": SIGNATURE})
        blocks += _block(index, {"type": "thinking", "thinking": ""}, deltas)
        index += 1
    if said:
        texts = [{"type": "text_delta", "text": t} for t in said]
        blocks += _block(index, {"type": "text", "text": ""}, texts)
        index += 1
    for call in calls:
        start = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        pieces = [{"type": "input_json_delta", "partial_json": p} for p in call.pieces]
        blocks += _block(index, start, pieces)
        index += 1
    return Frames(
        start=(_event("message_start", message=message), _event("ping")),
        deltas=tuple(blocks),
        end=(
            _event(
                "message_delta",
                delta={"stop_reason": "tool_use", "stop_sequence": None},
                usage={"output_tokens": OUTPUT_TOKENS},
            ),
            _event("message_stop"),
        ),
    )


def tool_json(
    calls: tuple[Call, ...] = (WEATHER,),
    *,
    said: str = "I'll check the current weather in San Francisco for you.",
    model: str = MODEL,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": said}] if said else []
    content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in calls]
    return {
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {**(USAGE if usage is None else usage), "output_tokens": OUTPUT_TOKENS},
    }


__all__ = [
    "MODEL",
    "NO_INPUT",
    "OUTPUT_TOKENS",
    "SAID",
    "TIME",
    "USAGE",
    "WEATHER",
    "Call",
    "tool_frames",
    "tool_json",
]

"""Documented Responses API answers that call functions
(https://platform.openai.com/docs/guides/function-calling, "Streaming"; the event reference at
https://platform.openai.com/docs/api-reference/responses-streaming), for `FakeModelAPI`.

A streamed call is ``response.output_item.added`` (a ``function_call`` item with its
``call_id`` and ``name``, empty arguments), ``response.function_call_arguments.delta`` pieces,
``response.function_call_arguments.done`` and ``response.output_item.done`` with the whole
arguments; ``response.completed`` then carries every output item and the usage, with the
cached input and reasoning output tokens. `tool_frames` can also leave the deltas out (only
the whole arguments, as the ChatGPT backend may send them), open with a reasoning item (so a
call's ``output_index`` is not its place among the calls) and with a text message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Literal

from tests.fakes.model_api import sse

RESPONSE_ID = "resp_67ccfcdd16748190a91872c75d38539e09e4d4aac714747c"

# (call_id, name, arguments) of each call
CALLS: tuple[tuple[str, str, str], ...] = (
    ("call_12345xyz", "get_weather", '{"location":"Paris, France"}'),
    ("call_67890abc", "get_time", '{"timezone":"Europe/Paris"}'),
)

USAGE: dict[str, Any] = {
    "input_tokens": 291,
    "input_tokens_details": {"cached_tokens": 256},
    "output_tokens": 23,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 314,
}

# deltas: pieces, then the whole arguments; whole: no pieces (``…arguments.done`` and the
# item's ``done``); item: only ``response.output_item.done`` (no ``added`` either)
Style = Literal["deltas", "whole", "item"]


def call_item(n: int, call: tuple[str, str, str], *, done: bool = True) -> dict[str, Any]:
    call_id, name, arguments = call
    return {
        "type": "function_call",
        "id": f"fc_67ccfcdf{n:04d}8190a07c8d1d58b7d4a1",
        "call_id": call_id,
        "name": name,
        "arguments": arguments if done else "",
        "status": "completed" if done else "in_progress",
    }


def _message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_67ccfcdd2dc08190a1f0b7b7e3c4d6f8",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


_REASONING: dict[str, Any] = {
    "type": "reasoning",
    "id": "rs_67ccfcdd5fa08190a6b3e2c1d0f9e8d7",
    "summary": [{"type": "summary_text", "text": "The user wants the weather."}],
}


def response(
    output: list[dict[str, Any]],
    *,
    model: str = "gpt-4.1-2025-04-14",
    status: str = "completed",
    usage: dict[str, Any] | None = USAGE,
) -> dict[str, Any]:
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1741487325,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "usage": usage,
    }


def pieces(arguments: str, size: int = 7) -> list[str]:
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def tool_frames(
    calls: tuple[tuple[str, str, str], ...] = CALLS,
    *,
    text: str = "",
    reasoning: bool = False,
    style: Style = "deltas",
    model: str = "gpt-4.1-2025-04-14",
    usage: dict[str, Any] | None = USAGE,
    echo: bool = True,
) -> list[bytes]:
    """A whole streamed answer: optional reasoning and text, then each call. ``echo=False``:
    ``response.completed`` does not repeat the output items."""
    seq = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **fields}, event=kind)

    frames = [
        event("response.created", response=response([], model=model, status="in_progress")),
        event("response.in_progress", response=response([], model=model, status="in_progress")),
    ]
    output: list[dict[str, Any]] = []
    if reasoning:
        frames += [
            event("response.output_item.added", output_index=0, item={**_REASONING, "summary": []}),
            event(
                "response.reasoning_summary_text.delta",
                item_id=_REASONING["id"],
                output_index=0,
                summary_index=0,
                delta="The user wants the weather.",
            ),
            event("response.output_item.done", output_index=0, item=_REASONING),
        ]
        output.append(_REASONING)
    if text:
        place = len(output)
        message = _message(text)
        at = {"item_id": message["id"], "output_index": place, "content_index": 0}
        frames += [
            event("response.output_item.added", output_index=place, item=_message("")),
            *(event("response.output_text.delta", **at, delta=p) for p in pieces(text, 4)),
            event("response.output_text.done", **at, text=text),
            event("response.output_item.done", output_index=place, item=message),
        ]
        output.append(message)
    for n, call in enumerate(calls):
        frames += list(_call_events(event, len(output), n, call, style))
        output.append(call_item(n, call))
    final = response(output if echo else [], model=model, usage=usage)
    frames.append(event("response.completed", response=final))
    return frames


def _call_events(
    event: Callable[..., bytes], place: int, n: int, call: tuple[str, str, str], style: Style
) -> Iterator[bytes]:
    item = call_item(n, call)
    at = {"item_id": item["id"], "output_index": place}
    if style != "item":
        yield event(
            "response.output_item.added", output_index=place, item=call_item(n, call, done=False)
        )
    if style == "deltas":
        for piece in pieces(call[2]):
            yield event("response.function_call_arguments.delta", **at, delta=piece)
    if style != "item":
        yield event("response.function_call_arguments.done", **at, arguments=call[2])
    yield event("response.output_item.done", output_index=place, item=item)


def tool_json(
    calls: tuple[tuple[str, str, str], ...] = CALLS,
    *,
    text: str = "",
    model: str = "gpt-4.1-2025-04-14",
    usage: dict[str, Any] | None = USAGE,
) -> dict[str, Any]:
    """A non-streamed answer (``"stream": false``) with a reasoning item, text and calls."""
    output = [_REASONING, *([_message(text)] if text else [])]
    output += [call_item(n, call) for n, call in enumerate(calls)]
    return response(output, model=model, usage=usage)


__all__ = [
    "CALLS",
    "RESPONSE_ID",
    "USAGE",
    "Style",
    "call_item",
    "pieces",
    "response",
    "tool_frames",
    "tool_json",
]

"""The Chat Completions wire format (``POST …/chat/completions``), spoken by OpenAI, GitHub
Copilot and every OpenAI-compatible server (llama.cpp, vLLM, Ollama, OpenRouter).

A streamed answer is ``chat.completion.chunk`` events; ``finish_reason`` on a choice ends the
answer, a last chunk with empty ``choices`` carries ``usage`` (asked for with
``stream_options.include_usage``), then ``data: [DONE]``. A body that ends cleanly after the
finish reason but without ``[DONE]`` is complete (ROUTING.md, "Streaming").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clawgate.providers._conversation import ModelRequest
from clawgate.providers._events import Completed, StreamEvent, TextDelta, Usage
from clawgate.providers._http import DONE
from clawgate.providers._stream import WireError, mapping, text, unfinished, usage

__all__ = ["ChatCompletionsStream", "body", "from_json"]


def body(request: ModelRequest, *, stream: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": stream,
    }
    if stream:
        document["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        document["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        document["temperature"] = request.temperature
    return document


class ChatCompletionsStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.done = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.id: str | None = None

    def feed(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        if data is DONE:
            self.done = True
            return
        if "error" in data:
            raise WireError(data)
        self.model = text(data.get("model")) or self.model
        self.id = self.id or text(data.get("id"))
        for choice in data.get("choices") or ():
            choice = mapping(choice)
            content = text(mapping(choice.get("delta")).get("content"))
            if content:
                yield TextDelta(content)
            self.finish_reason = text(choice.get("finish_reason")) or self.finish_reason
        self.usage = usage(data.get("usage"), "prompt_tokens", "completion_tokens") or self.usage

    def finish(self, request_id: str | None) -> Completed:
        if self.finish_reason is None:
            raise unfinished(self.provider, "a finish reason", request_id)
        return Completed(self.finish_reason, self.model, self.usage, request_id or self.id)


def from_json(
    provider: str, model: str, document: dict[str, Any], request_id: str | None
) -> Iterator[StreamEvent]:
    """A non-streamed ``chat.completion``, as the same events a stream would give."""
    if "error" in document:
        raise WireError(document)
    choices = [mapping(c) for c in document.get("choices") or ()]
    reason = next((r for c in choices if (r := text(c.get("finish_reason")))), None)
    if not choices or reason is None:
        raise unfinished(provider, "a choice with a finish reason", request_id)
    content = text(mapping(choices[0].get("message")).get("content"))
    if content:
        yield TextDelta(content)
    yield Completed(
        reason,
        text(document.get("model")) or model,
        usage(document.get("usage"), "prompt_tokens", "completion_tokens"),
        request_id or text(document.get("id")),
    )

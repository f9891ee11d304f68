"""The conversation and its options in Chat Completions' spelling
(https://platform.openai.com/docs/api-reference/chat/create), and what that spelling cannot
say (`dropped`: nothing, since the conversation model is this wire's own shape).

Messages keep their roles. A ``developer`` message is sent as ``developer`` only to OpenAI's
own API (``openai=True``); every other Chat Completions server (GitHub Copilot, the
OpenAI-compatible ones, the embedded llama.cpp engine) gets ``system``, since many refuse
the newer role. Content is a string or typed parts (``text``, ``image_url`` with its
``detail``); an assistant's tool calls are ``tool_calls`` (its ``content`` null when it has
only calls) and its refusal ``refusal``; a tool result is a ``tool`` message naming its
``tool_call_id``. A participant's ``name`` goes with every role but ``tool``; an assistant's
exposed reasoning has no request spelling here and is left out.

Every option goes under its own Chat Completions name; the unknown fields in
``options.extra`` go unchanged (the fields clawgate builds — model, messages, stream — win).
The answer's length cap is ``max_completion_tokens`` for OpenAI's own API (it deprecated
``max_tokens``, which its reasoning models refuse) and ``max_tokens`` for every other server
(llama.cpp, vLLM, Ollama and Copilot's older models know only that).
"""

from __future__ import annotations

from typing import Any

from clawgate.providers._conversation import (
    ImagePart,
    Message,
    ModelRequest,
    NamedTool,
    Options,
    Part,
    ResponseFormat,
    Tool,
)
from clawgate.providers._stream import present

__all__ = ["body", "dropped"]


def body(request: ModelRequest, *, stream: bool, openai: bool = False) -> dict[str, Any]:
    """The request body; ``openai=True`` is OpenAI's own API: the ``developer`` role kept,
    the cap as ``max_completion_tokens``."""
    document: dict[str, Any] = dict(request.options.extra)
    document.update(
        model=request.model,
        messages=[_message(m, developer=openai) for m in request.messages],
        stream=stream,
    )
    if stream:
        document["stream_options"] = {"include_usage": True}
    cap = "max_completion_tokens" if openai else "max_tokens"
    document.update(present(**{cap: request.max_tokens}, temperature=request.temperature))
    document.update(_options(request.options))
    return document


def dropped(request: ModelRequest) -> tuple[str, ...]:
    """What ``body`` leaves out of ``request``: nothing, every option has its field here."""
    return ()


def _message(m: Message, *, developer: bool) -> dict[str, Any]:
    role = "system" if m.role == "developer" and not developer else m.role
    spelled: dict[str, Any] = {"role": role, "content": _content(m.content)}
    if m.role == "assistant":
        if m.tool_calls:
            if not m.content:
                spelled["content"] = None
            spelled["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in m.tool_calls
            ]
        if m.refusal is not None:
            spelled["refusal"] = m.refusal
    if m.role == "tool":
        spelled["tool_call_id"] = m.tool_call_id or ""
    elif m.name is not None:
        spelled["name"] = m.name
    return spelled


def _content(content: str | tuple[Part, ...]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not content:
        return ""
    return [_part(p) for p in content]


def _part(part: Part) -> dict[str, Any]:
    if not isinstance(part, ImagePart):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": present(url=part.url, detail=part.detail)}


def _options(o: Options) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    if o.tools:
        sent["tools"] = [_tool(t) for t in o.tools]
    if isinstance(o.tool_choice, NamedTool):
        sent["tool_choice"] = {"type": "function", "function": {"name": o.tool_choice.name}}
    elif o.tool_choice is not None:
        sent["tool_choice"] = o.tool_choice
    if o.response_format is not None:
        sent["response_format"] = _format(o.response_format)
    if o.stop:
        sent["stop"] = list(o.stop)
    if o.logit_bias:
        sent["logit_bias"] = dict(o.logit_bias)
    if o.metadata:
        sent["metadata"] = dict(o.metadata)
    sent.update(
        present(
            parallel_tool_calls=o.parallel_tool_calls,
            top_p=o.top_p,
            seed=o.seed,
            presence_penalty=o.presence_penalty,
            frequency_penalty=o.frequency_penalty,
            logprobs=o.logprobs,
            top_logprobs=o.top_logprobs,
            reasoning_effort=o.reasoning_effort,
            service_tier=o.service_tier,
            user=o.user,
        )
    )
    return sent


def _tool(tool: Tool) -> dict[str, Any]:
    parameters = dict(tool.parameters) if tool.parameters is not None else None
    function = present(
        name=tool.name, description=tool.description, parameters=parameters, strict=tool.strict
    )
    return {"type": "function", "function": function}


def _format(given: ResponseFormat) -> dict[str, Any]:
    if given.type != "json_schema":
        return {"type": given.type}
    schema = present(
        name=given.name or "response",
        description=given.description,
        schema=dict(given.schema) if given.schema is not None else None,
        strict=given.strict,
    )
    return {"type": "json_schema", "json_schema": schema}

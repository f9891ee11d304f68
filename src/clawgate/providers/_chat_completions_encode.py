"""The conversation and its options in Chat Completions' spelling
(https://platform.openai.com/docs/api-reference/chat/create), and what that spelling cannot
say (`dropped`: nothing, since the conversation model is this wire's own shape).

Messages keep their roles. A ``developer`` message is sent as ``developer`` only to OpenAI's
own API (``developer=True``); every other Chat Completions server (GitHub Copilot, the
OpenAI-compatible ones, the embedded llama.cpp engine) gets ``system``, since many refuse
the newer role. Content is a string or typed parts (``text``, ``image_url`` with its
``detail``); an assistant's tool calls are ``tool_calls`` (its ``content`` null when it has
only calls) and its refusal ``refusal``; a tool result is a ``tool`` message naming its
``tool_call_id``. A participant's ``name`` goes with every role but ``tool``; an assistant's
exposed reasoning has no request spelling here and is left out.

Every option goes under its own Chat Completions name; the unknown fields in
``options.extra`` go unchanged (the fields clawgate builds — model, messages, stream — win).
``max_tokens`` is sent as ``max_tokens`` to every server, OpenAI's included (OpenAI now
documents ``max_completion_tokens``, which its reasoning models require; not sent yet).
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

__all__ = ["body", "dropped"]


def body(request: ModelRequest, *, stream: bool, developer: bool = False) -> dict[str, Any]:
    """The request body; ``developer=True`` keeps the ``developer`` role (OpenAI's API)."""
    document: dict[str, Any] = dict(request.options.extra)
    document.update(
        model=request.model,
        messages=[_message(m, developer=developer) for m in request.messages],
        stream=stream,
    )
    if stream:
        document["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        document["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        document["temperature"] = request.temperature
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
    image: dict[str, Any] = {"url": part.url}
    if part.detail is not None:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


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
    for key, value in (
        ("parallel_tool_calls", o.parallel_tool_calls),
        ("top_p", o.top_p),
        ("seed", o.seed),
        ("presence_penalty", o.presence_penalty),
        ("frequency_penalty", o.frequency_penalty),
        ("logprobs", o.logprobs),
        ("top_logprobs", o.top_logprobs),
        ("reasoning_effort", o.reasoning_effort),
        ("service_tier", o.service_tier),
        ("user", o.user),
    ):
        if value is not None:
            sent[key] = value
    return sent


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = dict(tool.parameters)
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _format(given: ResponseFormat) -> dict[str, Any]:
    if given.type != "json_schema":
        return {"type": given.type}
    schema: dict[str, Any] = {"name": given.name or "response"}
    if given.description is not None:
        schema["description"] = given.description
    if given.schema is not None:
        schema["schema"] = dict(given.schema)
    if given.strict is not None:
        schema["strict"] = given.strict
    return {"type": "json_schema", "json_schema": schema}

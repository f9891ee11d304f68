"""The conversation and its options in the Responses API's spelling
(https://platform.openai.com/docs/api-reference/responses/create), and what that spelling
cannot say (`dropped`).

Messages become input items: the system and developer messages that open the conversation
become ``instructions`` (the ChatGPT backend requires them, so a default stands in when there
are none); a later system or developer message stays in place as an input message of its role;
user text and images are ``input_text`` / ``input_image`` parts; an assistant's text and refusal
are an assistant message (``output_text`` / ``refusal`` parts) and each of its tool calls is a
``function_call`` item; a tool result is a ``function_call_output`` item. A participant's
``name`` and an assistant's exposed reasoning have no input spelling and are left out.

``backend=True`` is the ChatGPT subscription backend (``/backend-api/codex/responses``): it
takes what the Codex CLI sends (tools, tool choice, parallel tool calls, reasoning, the text
format) and refuses output limits and sampling settings, so those are left out (and named).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

__all__ = ["DEFAULT_INSTRUCTIONS", "body", "dropped", "input_items"]

DEFAULT_INSTRUCTIONS = "You are a helpful assistant."

# A function without parameters, as Chat Completions reads an omitted ``parameters``; the
# Responses API requires the field.
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def body(
    request: ModelRequest, *, stream: bool, limits: bool = True, backend: bool = False
) -> dict[str, Any]:
    """The request body. ``limits=False`` leaves out ``max_output_tokens``/``temperature``;
    ``backend=True`` (the ChatGPT backend) implies it and leaves out what else it refuses."""
    lead = 0
    while lead < len(request.messages) and request.messages[lead].role in ("system", "developer"):
        lead += 1
    instructions = "\n\n".join(m.text for m in request.messages[:lead] if m.text)
    document: dict[str, Any] = {
        "model": request.model,
        "instructions": instructions or DEFAULT_INSTRUCTIONS,
        "input": input_items(request.messages[lead:]),
        "stream": stream,
        "store": False,
    }
    if limits and not backend:
        limited = present(max_output_tokens=request.max_tokens, temperature=request.temperature)
        document.update(limited)
    document.update(_options(request.options, backend=backend))
    return document


def dropped(request: ModelRequest, *, backend: bool = False) -> tuple[str, ...]:
    """What ``body`` leaves out of ``request``, in the caller's (Chat Completions) names."""
    o = request.options
    unsent = [
        ("stop", bool(o.stop)),
        ("seed", o.seed is not None),
        ("presence_penalty", o.presence_penalty is not None),
        ("frequency_penalty", o.frequency_penalty is not None),
        ("logit_bias", bool(o.logit_bias)),
        ("logprobs", bool(o.logprobs)),  # false is what the wire does anyway
        ("top_logprobs", o.top_logprobs is not None),
    ]
    if backend:
        unsent = [
            (o.cap_name, request.max_tokens is not None),
            ("temperature", request.temperature is not None),
            ("top_p", o.top_p is not None),
            *unsent,
            ("service_tier", o.service_tier is not None),
            ("user", o.user is not None),
            ("metadata", bool(o.metadata)),
        ]
    return (*(name for name, asked in unsent if asked), *o.extra)


def _options(o: Options, *, backend: bool) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    if o.tools:
        sent["tools"] = [_tool(t) for t in o.tools]
    if isinstance(o.tool_choice, NamedTool):
        sent["tool_choice"] = {"type": "function", "name": o.tool_choice.name}
    elif o.tool_choice is not None:
        sent["tool_choice"] = o.tool_choice
    sent.update(present(parallel_tool_calls=o.parallel_tool_calls))
    if o.response_format is not None:
        sent["text"] = {"format": _format(o.response_format)}
    if o.reasoning_effort is not None:
        sent["reasoning"] = {"effort": o.reasoning_effort}
    if not backend:
        sent.update(present(top_p=o.top_p, service_tier=o.service_tier, user=o.user))
        if o.metadata:
            sent["metadata"] = dict(o.metadata)
    return sent


def _tool(tool: Tool) -> dict[str, Any]:
    spelled = present(type="function", name=tool.name, description=tool.description)
    spelled["parameters"] = dict(tool.parameters) if tool.parameters is not None else _NO_PARAMETERS
    # Responses makes a function strict unless told otherwise; the caller's (Chat Completions)
    # default is not strict, and a schema written for that would be refused.
    spelled["strict"] = bool(tool.strict)
    return spelled


def _format(given: ResponseFormat) -> dict[str, Any]:
    if given.type != "json_schema":
        return {"type": given.type}
    return present(
        type="json_schema",
        name=given.name or "response",
        description=given.description,
        schema=dict(given.schema) if given.schema is not None else {},
        strict=given.strict,
    )


def input_items(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as the API's input items, each as ``body`` sends it."""
    return [item for m in messages for item in _items(m)]


def _items(m: Message) -> Iterator[dict[str, Any]]:
    if m.role == "tool":
        output: str | list[dict[str, Any]] = _input_parts(m.parts) if m.has_images else m.text
        yield {"type": "function_call_output", "call_id": m.tool_call_id or "", "output": output}
    elif m.role == "assistant":
        parts: list[dict[str, Any]] = []
        if m.text or not (m.refusal or m.tool_calls):
            parts.append({"type": "output_text", "text": m.text})
        if m.refusal:
            parts.append({"type": "refusal", "refusal": m.refusal})
        if parts:
            yield {"type": "message", "role": "assistant", "content": parts}
        for call in m.tool_calls:
            yield {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
    else:
        content = _input_parts(m.parts) or [{"type": "input_text", "text": ""}]
        yield {"type": "message", "role": m.role, "content": content}


def _input_parts(parts: Iterable[Part]) -> list[dict[str, Any]]:
    return [
        {"type": "input_image", "image_url": p.url, "detail": p.detail or "auto"}
        if isinstance(p, ImagePart)
        else {"type": "input_text", "text": p.text}
        for p in parts
    ]

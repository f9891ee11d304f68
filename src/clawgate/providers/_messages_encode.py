"""A `ModelRequest` in the Messages API's own spelling (``POST /v1/messages``), and what of it
that wire cannot say (https://docs.anthropic.com/en/api/messages).

The conversation: system and developer text goes in the top-level ``system``, never in
``messages``; the messages alternate user/assistant, so consecutive messages of one side merge
into one with several content blocks. A tool's result is a ``tool_result`` block of a user
message (a run of them first in that message, as the API requires); an assistant's tool call a
``tool_use`` block whose ``input`` is the parsed arguments object
(https://docs.anthropic.com/en/docs/build-with-claude/tool-use). Images are ``image`` blocks:
a base64 source for a data URL, a url source for a web address
(https://docs.anthropic.com/en/docs/build-with-claude/vision).

What is left out, and named by `dropped`:
- ``reasoning_effort``: extended thinking streams no content for its whole budget (the
  first-token deadline counts only content), tool loops need the signed thinking blocks sent
  back (a `Message` keeps no signature), and it refuses a set temperature, a ``top_p`` below
  0.95 and forced tool use. Sent, it would time out or be refused more often than it helped.
- ``response_format`` (json_object, json_schema): the stable API has no output format.
- ``tools.strict`` (when a tool asks for it), ``seed``, ``presence_penalty``,
  ``frequency_penalty``, ``logit_bias``, ``logprobs``, ``top_logprobs``: no such fields.
- ``top_p`` when a temperature is set too: current models refuse both ("use only one").
- ``temperature`` above 1 (the API's range is 0-1): sent as 1.
- ``tool_choice``, ``parallel_tool_calls`` without tools: the API takes them only with tools.
- ``service_tier`` other than ``auto``/``standard_only``; ``metadata`` (only ``user_id``,
  which ``user`` fills); a message's ``name``; every unknown field (``options.extra``).
"""

from __future__ import annotations

import json
from typing import Any

from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers._conversation import (
    ImagePart,
    Message,
    ModelRequest,
    NamedTool,
    Part,
    Tool,
    ToolCall,
    ToolChoice,
)

__all__ = ["DEFAULT_MAX_TOKENS", "body", "dropped"]

# The API requires max_tokens; this is the cap when the caller gives none.
DEFAULT_MAX_TOKENS = 4096

_SYSTEM = ("system", "developer")
_TIERS = ("auto", "standard_only")
_MAX_TEMPERATURE = 1.0


def body(request: ModelRequest, *, stream: bool) -> dict[str, Any]:
    """The request body; `Failed` (bad_request) for a conversation the API cannot take."""
    system = "\n\n".join(t for m in request.messages if m.role in _SYSTEM if (t := m.text))
    document: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _messages(request.messages),
        "stream": stream,
    }
    if system:
        document["system"] = system
    if request.temperature is not None:
        document["temperature"] = min(request.temperature, _MAX_TEMPERATURE)
    _options(request, document)
    return document


def dropped(request: ModelRequest) -> tuple[str, ...]:
    """What `body` leaves out of ``request``, in the caller's (Chat Completions) names."""
    o = request.options
    lost: list[str] = []
    if request.temperature is not None and request.temperature > _MAX_TEMPERATURE:
        lost.append("temperature")
    if any(t.strict for t in o.tools):
        lost.append("tools.strict")
    if not o.tools and o.tool_choice is not None:
        lost.append("tool_choice")
    if not o.tools and o.parallel_tool_calls is not None:
        lost.append("parallel_tool_calls")
    if o.response_format is not None and o.response_format.type != "text":
        lost.append("response_format")
    if o.top_p is not None and request.temperature is not None:
        lost.append("top_p")
    for name, value in (
        ("seed", o.seed),
        ("presence_penalty", o.presence_penalty),
        ("frequency_penalty", o.frequency_penalty),
        ("logit_bias", o.logit_bias or None),
        ("logprobs", o.logprobs or None),  # false asks for nothing
        ("top_logprobs", o.top_logprobs),
        ("reasoning_effort", o.reasoning_effort),
        ("metadata", o.metadata or None),
    ):
        if value is not None:
            lost.append(name)
    if o.service_tier is not None and o.service_tier not in _TIERS:
        lost.append("service_tier")
    if any(m.name for m in request.messages if m.role != "tool"):
        lost.append("messages.name")
    lost += list(o.extra)
    return tuple(lost)


# -- options -------------------------------------------------------------------------------


def _options(request: ModelRequest, document: dict[str, Any]) -> None:
    o = request.options
    if o.tools:
        document["tools"] = [_tool(t) for t in o.tools]
        choice = _tool_choice(o.tool_choice, o.parallel_tool_calls)
        if choice is not None:
            document["tool_choice"] = choice
    if o.stop:
        document["stop_sequences"] = list(o.stop)
    if o.top_p is not None and request.temperature is None:
        document["top_p"] = o.top_p
    if o.user:
        document["metadata"] = {"user_id": o.user}
    if o.service_tier in _TIERS:
        document["service_tier"] = o.service_tier


def _tool(tool: Tool) -> dict[str, Any]:
    encoded: dict[str, Any] = {"name": tool.name}
    if tool.description:
        encoded["description"] = tool.description
    encoded["input_schema"] = dict(tool.parameters) if tool.parameters else {"type": "object"}
    return encoded


def _tool_choice(choice: ToolChoice | None, parallel: bool | None) -> dict[str, Any] | None:
    encoded: dict[str, Any]
    if choice == "none":
        return {"type": "none"}  # no calls at all: parallel or not is moot
    if isinstance(choice, NamedTool):
        encoded = {"type": "tool", "name": choice.name}
    elif choice == "required":
        encoded = {"type": "any"}
    elif choice == "auto" or parallel is False:
        encoded = {"type": "auto"}
    else:
        return None
    if parallel is False:
        encoded["disable_parallel_tool_use"] = True
    return encoded


# -- the conversation ----------------------------------------------------------------------


class _Turn:
    """One API message: every consecutive message of one side, tool results first."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.sources: list[Message] = []
        self.results: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []

    def add(self, message: Message, index: int) -> None:
        self.sources.append(message)
        if message.role == "tool":
            self.results.append(_tool_result(message, index))
            return
        self.blocks += _parts(message.parts, index)
        if message.role == "assistant":
            if message.refusal and not message.text:
                self.blocks.append({"type": "text", "text": message.refusal})
            self.blocks += [_tool_use(c, index) for c in message.tool_calls]

    def encoded(self) -> dict[str, Any]:
        only = self.sources[0]
        plain = len(self.sources) == 1 and isinstance(only.content, str)
        if plain and only.role != "tool" and not only.tool_calls and not only.refusal:
            return {"role": self.role, "content": only.content}
        return {"role": self.role, "content": [*self.results, *self.blocks] or ""}


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    turns: list[_Turn] = []
    for index, message in enumerate(messages):
        if message.role in _SYSTEM:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if not turns or turns[-1].role != role:
            turns.append(_Turn(role))
        turns[-1].add(message, index)
    return [t.encoded() for t in turns]


def _parts(parts: tuple[Part, ...], index: int) -> list[dict[str, Any]]:
    return [
        _image(p, index) if isinstance(p, ImagePart) else {"type": "text", "text": p.text}
        for p in parts
        if isinstance(p, ImagePart) or p.text
    ]


def _image(part: ImagePart, index: int) -> dict[str, Any]:
    data = part.data
    if data is not None:
        media_type, encoded = data
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": encoded},
        }
    if part.url.startswith("data:"):
        raise _refused(
            f"an image in messages[{index}] is a data URL that is not base64; Anthropic's "
            "Messages API takes inline images only as base64",
            "send the image as data:<media type>;base64,<data> or as an https URL",
        )
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _tool_result(message: Message, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
    if isinstance(message.content, str):
        if message.content:
            result["content"] = message.content
    elif blocks := _parts(message.content, index):
        result["content"] = blocks
    return result


def _tool_use(call: ToolCall, index: int) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call, index)}


def _input(call: ToolCall, index: int) -> dict[str, Any]:
    """A call's arguments as the object the API needs; no arguments at all are ``{}``."""
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise _refused(
            f"tool call {call.id!r} ({call.name}) in messages[{index}] has arguments that are "
            "not a JSON object; Anthropic's Messages API takes a call's input only as an object",
            "send that call's arguments as a JSON object, {} when it has none",
        )
    return value


def _refused(message: str, fix: str) -> Failed:
    return Failed(Failure(FailureClass.BAD_REQUEST, message, fix=fix))

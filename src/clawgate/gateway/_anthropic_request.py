"""``POST /v1/messages``'s body (and ``/v1/messages/count_tokens``'), as Anthropic documents it
(https://docs.anthropic.com/en/api/messages), read into a `TurnRequest` of the one
conversation model.

The conversation: ``system`` (a string or text blocks) becomes one system message, its blocks
joined by a blank line; so does a ``role: "system"`` message among the messages, in its
place. A user message's ``tool_result`` blocks become ``tool`` messages (each
answering its ``tool_use_id``), placed before the rest of that message's text and images; an
``is_error`` result's text starts with "Error: " (the conversation model has no flag for it).
An assistant's ``tool_use`` blocks become its tool calls, ``input`` kept as its JSON text;
``thinking`` and ``redacted_thinking`` blocks from history are dropped (a message keeps no
signature to send back). ``image`` blocks: a base64 source becomes a data URL, a url source
stays a web address. Documents, files and server-tool blocks are refused (400), naming the
block: no wire here can take them.

Options: ``tools`` (client tools; server tools are refused), ``tool_choice`` (auto → auto,
any → required, tool → that tool, none → none; ``disable_parallel_tool_use`` → no parallel
calls), ``stop_sequences``, ``temperature`` (0-1, as Anthropic takes it), ``top_p``,
``metadata.user_id`` → user, ``service_tier``; ``top_k`` has no place in the model and is kept
in ``Options.extra`` (a Chat Completions upstream gets it as sent, other wires drop it and the
answer says so). ``thinking``: ``enabled`` becomes a reasoning effort by its budget (under
4096 tokens low, under 16384 medium, else high); another kind (``adaptive``) is kept in
``extra``; ``disabled`` asks for nothing. Every other top-level field is Anthropic's own and
would break an upstream of another dialect: it is dropped here and named in the answer's
``x-clawgate-dropped-params`` with what the upstream's wire dropped.

The model: ``clawgate``/``default`` is the configured chain; a ``provider/model`` ref or an
alias of ``agents.defaults.models`` is that model (strict, as on the chat surface). A Claude
model name (``claude-…``) that is not an alias is the configured chain too: it is what an
Anthropic client sends when nobody chose a model (Claude Code with ``ANTHROPIC_MODEL`` unset
asks for its default Claude model), and the user who pointed it at the gateway means "my
models". To send that name to one model, alias it. Any other name is a 404
``not_found_error`` that says how to alias it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clawgate.config import Settings
from clawgate.gateway._openai import DEFAULT_MODELS, RequestError, validate
from clawgate.providers import (
    ImagePart,
    Message,
    NamedTool,
    Options,
    Part,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from clawgate.routing import RoutingError, resolve_ref
from clawgate.runtime import TurnRequest

__all__ = ["MessagesRequest", "Parsed", "effort_for", "parse_request", "turn_request"]


class _Block(BaseModel):
    # Blocks clients echo back carry fields not modelled here (cache_control, citations, …).
    model_config = ConfigDict(extra="ignore", frozen=True)


class TextIn(_Block):
    type: Literal["text"]
    text: str


class Base64Source(_Block):
    type: Literal["base64"]
    media_type: str = Field(pattern=r"^image/")
    data: str = Field(min_length=1)


class URLSource(_Block):
    type: Literal["url"]
    url: str = Field(pattern=r"^https?://")


class FileSource(_Block):
    type: Literal["file"]


ImageSource = Annotated[Base64Source | URLSource | FileSource, Field(discriminator="type")]


class ImageIn(_Block):
    type: Literal["image"]
    source: ImageSource


class ToolUseIn(_Block):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]


ResultPart = Annotated[TextIn | ImageIn, Field(discriminator="type")]


class ToolResultIn(_Block):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[ResultPart] | None = None
    is_error: bool | None = None


class ThinkingIn(_Block):
    """Reasoning from an earlier answer, sent back: dropped."""

    type: Literal["thinking", "redacted_thinking"]


class Unsupported(_Block):
    """Blocks no wire here can carry: refused with the block's place named."""

    type: Literal[
        "document",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
    ]


BlockIn = Annotated[
    TextIn | ImageIn | ToolUseIn | ToolResultIn | ThinkingIn | Unsupported,
    Field(discriminator="type"),
]


class MessageIn(_Block):
    # "system" mid-conversation: Claude Code sends it (a beta of Anthropic's, for a model
    # it does not know); every wire here can carry a system message in place.
    role: Literal["user", "assistant", "system"]
    content: str | list[BlockIn]


class ToolIn(_Block):
    type: str | None = None  # "custom" or absent: a client tool; anything else a server tool
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any] | None = None


class ToolChoiceIn(_Block):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingConfig(_Block):
    type: str
    budget_tokens: int | None = Field(default=None, ge=0)


class MetadataIn(_Block):
    user_id: str | None = None


class MessagesRequest(BaseModel):
    # Unknown top-level fields are kept (`model_extra`), to be dropped and reported.
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    max_tokens: int | None = Field(default=None, gt=0)  # required by /v1/messages only
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[TextIn] | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    thinking: ThinkingConfig | None = None
    metadata: MetadataIn | None = None
    service_tier: str | None = None


@dataclass(frozen=True)
class Parsed:
    """A request read: the turn to run, and the fields dropped here (for the answer)."""

    turn: TurnRequest
    dropped: tuple[str, ...]


def parse_request(document: object, *, counting: bool = False) -> MessagesRequest:
    request = validate(MessagesRequest, document)
    if request.max_tokens is None and not counting:
        raise RequestError("max_tokens: Field required", param="max_tokens")
    return request


def turn_request(request: MessagesRequest, settings: Settings) -> Parsed:
    messages: list[Message] = []
    if request.system:
        system = (
            request.system
            if isinstance(request.system, str)
            else "\n\n".join(b.text for b in request.system if b.text)
        )
        if system:
            messages.append(Message("system", system))
    for index, message in enumerate(request.messages):
        messages += _messages(message, index)
    options, dropped = _options(request)
    turn = TurnRequest(
        tuple(messages),
        model=_model(request.model, settings),
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        options=options,
        stream=request.stream,
    )
    return Parsed(turn, dropped)


def _model(name: str, settings: Settings) -> str | None:
    """The model ref to run (None: the configured chain); `RequestError` (code
    ``model_not_found``) for a name that is neither a ref, an alias nor a Claude name."""
    if name in DEFAULT_MODELS:
        return None
    try:
        resolve_ref(name, settings)
    except RoutingError as exc:
        if name.startswith("claude-"):
            return None  # an Anthropic client's default model: the user's chain
        raise RequestError(
            f"{exc.message}; to answer {name!r} with one of your models, alias it: "
            f'agents.defaults.models["<provider>/<model>"].alias = "{name}"',
            param="model",
            code="model_not_found",
        ) from None
    return name


# -- the conversation ----------------------------------------------------------------------


def _messages(message: MessageIn, index: int) -> list[Message]:
    if isinstance(message.content, str):
        return [Message(message.role, message.content)]
    if message.role == "system":
        return [_system(message.content, index)]
    results: list[Message] = []
    parts: list[Part] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(message.content):
        where = f"messages.{index}.content.{j}"
        if isinstance(block, Unsupported):
            raise RequestError(
                f"messages[{index}].content[{j}] is a {block.type} block, which no configured "
                "model can take here; send text, images, tool_use and tool_result blocks",
                param=where,
            )
        if isinstance(block, TextIn):
            if block.text:
                parts.append(TextPart(block.text))
        elif isinstance(block, ImageIn):
            parts.append(_image(block, where))
        elif isinstance(block, ToolUseIn):
            if message.role != "assistant":
                raise RequestError(
                    f"{where}: tool_use blocks belong to assistant messages", param=where
                )
            calls.append(ToolCall(block.id, block.name, json.dumps(block.input)))
        elif isinstance(block, ToolResultIn):
            if message.role != "user":
                raise RequestError(
                    f"{where}: tool_result blocks belong to user messages", param=where
                )
            results.append(_result(block, where))
        # thinking, redacted_thinking: dropped
    said: list[Message] = []
    if parts or calls or not results:
        said.append(Message(message.role, tuple(parts), tool_calls=tuple(calls)))
    return [*results, *said]


def _system(blocks: list[BlockIn], index: int) -> Message:
    for j, block in enumerate(blocks):
        if not isinstance(block, TextIn):
            raise RequestError(
                f"messages[{index}].content[{j}] is a {block.type} block; a system message "
                "carries text blocks only",
                param=f"messages.{index}.content.{j}",
            )
    return Message("system", "\n\n".join(b.text for b in blocks if isinstance(b, TextIn)))


def _image(block: ImageIn, where: str) -> ImagePart:
    source = block.source
    if isinstance(source, Base64Source):
        return ImagePart(f"data:{source.media_type};base64,{source.data}")
    if isinstance(source, URLSource):
        return ImagePart(source.url)
    raise RequestError(
        f"{where}.source: an image by file id needs Anthropic's Files API, which the gateway "
        "does not have; "
        "send the image as base64 or a url source",
        param=f"{where}.source",
    )


def _result(block: ToolResultIn, where: str) -> Message:
    content: str | tuple[Part, ...]
    if block.content is None or isinstance(block.content, str):
        content = block.content or ""
        if block.is_error:
            content = f"Error: {content}" if content else "Error"
    else:
        parts: list[Part] = [
            TextPart(b.text) if isinstance(b, TextIn) else _image(b, f"{where}.content.{k}")
            for k, b in enumerate(block.content)
        ]
        if block.is_error:
            parts.insert(0, TextPart("Error: "))
        content = tuple(parts)
    return Message("tool", content, tool_call_id=block.tool_use_id)


# -- options -------------------------------------------------------------------------------


def effort_for(budget: int | None) -> str:
    """A thinking budget as a reasoning effort."""
    if budget is not None and budget < 4096:
        return "low"
    if budget is not None and budget < 16384:
        return "medium"
    return "high"


def _options(request: MessagesRequest) -> tuple[Options, tuple[str, ...]]:
    extra: dict[str, Any] = {}
    if request.top_k is not None:
        extra["top_k"] = request.top_k
    effort = None
    if request.thinking is not None and request.thinking.type == "enabled":
        effort = effort_for(request.thinking.budget_tokens)
    elif request.thinking is not None and request.thinking.type != "disabled":
        extra["thinking"] = request.thinking.model_dump(exclude_none=True)
    choice, parallel = _choice(request.tool_choice)
    options = Options(
        tools=tuple(_tool(t, i) for i, t in enumerate(request.tools or ())),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        top_p=request.top_p,
        stop=tuple(request.stop_sequences or ()),
        reasoning_effort=effort,
        service_tier=request.service_tier,
        user=request.metadata.user_id if request.metadata else None,
        extra=extra,
    )
    return options, tuple(request.model_extra or {})


def _tool(tool: ToolIn, index: int) -> Tool:
    if tool.type not in (None, "custom"):
        raise RequestError(
            f"tools[{index}] is Anthropic's server tool {tool.type!r}, which the models behind "
            "the gateway do not have; describe a client tool with name and input_schema",
            param=f"tools.{index}.type",
        )
    if tool.input_schema is None:
        raise RequestError(
            f"tools.{index}.input_schema: Field required", param=f"tools.{index}.input_schema"
        )
    return Tool(tool.name, tool.description, tool.input_schema)


_CHOICES: dict[str, ToolChoice] = {"auto": "auto", "any": "required", "none": "none"}


def _choice(given: ToolChoiceIn | None) -> tuple[ToolChoice | None, bool | None]:
    if given is None:
        return None, None
    parallel = False if given.disable_parallel_tool_use else None
    if given.type == "tool":
        if not given.name:
            raise RequestError(
                "tool_choice.name: a tool choice of type tool names it", param="tool_choice.name"
            )
        return NamedTool(given.name), parallel
    return _CHOICES[given.type], parallel

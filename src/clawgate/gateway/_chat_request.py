"""``POST /v1/chat/completions``'s body, as OpenAI documents it
(https://platform.openai.com/docs/api-reference/chat/create), read into a `TurnRequest`.

Every field a client commonly sends is modelled and checked (a bad value is a 400 whose
``param`` names it). A field clawgate does not model is kept as it was sent
(`Options.extra`): a Chat Completions upstream gets it unchanged, other wires drop it and
the answer says so. Audio and file parts are refused up front: no wire here can take them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clawgate.gateway._openai import DEFAULT_MODELS, RequestError, validate
from clawgate.providers import (
    ImagePart,
    Message,
    NamedTool,
    Options,
    Part,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from clawgate.routing import MAX_REF
from clawgate.runtime import TurnRequest

__all__ = ["ChatRequest", "parse_request", "turn_request"]

Ref = Annotated[str, Field(min_length=1, max_length=MAX_REF)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lenient(BaseModel):
    """Shapes clients echo back with extra fields (``annotations``, ``audio: null``, …):
    what is not modelled is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TextIn(_Lenient):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str = Field(pattern=r"^(https?://|data:image/)")
    detail: Literal["auto", "low", "high"] | None = None


class ImageIn(_Lenient):
    type: Literal["image_url"]
    image_url: ImageURL


class RefusalIn(_Lenient):
    type: Literal["refusal"]
    refusal: str


class Unsupported(_Lenient):
    """Parts that no wire here can carry: refused with the part's place named."""

    type: Literal["input_audio", "file"]


PartIn = Annotated[TextIn | ImageIn | RefusalIn | Unsupported, Field(discriminator="type")]


class FunctionCallIn(_Lenient):
    name: str = Field(min_length=1)
    arguments: str


class ToolCallIn(_Lenient):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[PartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None


class FunctionDef(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(_Strict):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Strict):
    name: str


class NamedChoice(_Strict):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(_Strict):
    name: str = Field(min_length=1, max_length=64)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class ResponseFormatIn(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(BaseModel):
    # Unknown top-level fields are kept (`model_extra`) and forwarded or reported.
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1, max_length=MAX_REF)
    messages: list[ChatMessage] = Field(min_length=1)
    # The OpenRouter convention: an explicit ordered chain (`_http.check_models` bounds it).
    models: list[Ref] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    service_tier: str | None = None
    store: bool | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    tools: list[ToolDef] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormatIn | None = None


def parse_request(document: object) -> ChatRequest:
    chat = validate(ChatRequest, document)
    if chat.n is not None and chat.n > 1:
        # One answer per turn: every candidate's wire, and failover, work on one choice.
        raise RequestError("n > 1 is not supported: ask once per answer", param="n")
    return chat


def turn_request(chat: ChatRequest) -> TurnRequest:
    # An explicit `models` list is the chain; `model` then only names its first entry.
    model = None if chat.models or chat.model in DEFAULT_MODELS else chat.model
    return TurnRequest(
        tuple(_message(m, i) for i, m in enumerate(chat.messages)),
        model=model,
        models=tuple(chat.models or ()),
        max_tokens=chat.max_completion_tokens or chat.max_tokens,
        temperature=chat.temperature,
        options=_options(chat),
        stream=chat.stream,
    )


def _message(m: ChatMessage, index: int) -> Message:
    if m.role == "tool" and not m.tool_call_id:
        raise RequestError(
            "a tool message needs the tool_call_id of the call it answers",
            param=f"messages.{index}.tool_call_id",
        )
    refusal = m.refusal
    content: str | tuple[Part, ...] = ""
    if isinstance(m.content, str):
        content = m.content
    elif m.content is not None:
        parts: list[Part] = []
        for j, part in enumerate(m.content):
            if isinstance(part, Unsupported):
                raise RequestError(
                    f"messages[{index}].content[{j}] is an {part.type} part, which no "
                    "configured model can take here; send text or images",
                    param=f"messages.{index}.content.{j}",
                )
            if isinstance(part, TextIn):
                parts.append(TextPart(part.text))
            elif isinstance(part, ImageIn):
                parts.append(ImagePart(part.image_url.url, part.image_url.detail))
            else:
                refusal = refusal or part.refusal
        content = tuple(parts)
    calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or ())
    return Message(
        m.role,
        content,
        tool_calls=calls,
        tool_call_id=m.tool_call_id,
        name=m.name,
        refusal=refusal,
    )


def _options(chat: ChatRequest) -> Options:
    choice: ToolChoice | None = None
    if isinstance(chat.tool_choice, NamedChoice):
        choice = NamedTool(chat.tool_choice.function.name)
    else:
        choice = chat.tool_choice
    return Options(
        tools=tuple(
            Tool(t.function.name, t.function.description, t.function.parameters, t.function.strict)
            for t in chat.tools or ()
        ),
        tool_choice=choice,
        parallel_tool_calls=chat.parallel_tool_calls,
        response_format=_format(chat.response_format),
        top_p=chat.top_p,
        stop=(chat.stop,) if isinstance(chat.stop, str) else tuple(chat.stop or ()),
        seed=chat.seed,
        presence_penalty=chat.presence_penalty,
        frequency_penalty=chat.frequency_penalty,
        logit_bias=chat.logit_bias,
        logprobs=chat.logprobs,
        top_logprobs=chat.top_logprobs,
        reasoning_effort=chat.reasoning_effort,
        service_tier=chat.service_tier,
        user=chat.user,
        metadata=chat.metadata,
        extra=dict(chat.model_extra or {}),
        cap_name="max_completion_tokens" if chat.max_completion_tokens else "max_tokens",
    )


def _format(given: ResponseFormatIn | None) -> ResponseFormat | None:
    if given is None:
        return None
    if given.type != "json_schema":
        return ResponseFormat(given.type)
    schema = given.json_schema
    if schema is None:
        raise RequestError(
            "response_format json_schema needs its json_schema object",
            param="response_format.json_schema",
        )
    return ResponseFormat(
        "json_schema", schema.name, schema.schema_, schema.strict, schema.description
    )

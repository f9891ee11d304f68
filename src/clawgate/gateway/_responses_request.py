"""``POST /v1/responses``'s body, as OpenAI documents it
(https://platform.openai.com/docs/api-reference/responses/create), read into a `TurnRequest`.

``input`` is a string (one user message) or a list of items: messages (roles ``user``,
``assistant``, ``system``, ``developer``; content a string or ``input_text`` /
``input_image`` / ``output_text`` / ``refusal`` parts), ``function_call`` items (joined to the
assistant message before them) and ``function_call_output`` items (tool messages).
``instructions`` is a system message put first; a conversation continued with
``previous_response_id`` (loaded by the route) goes between it and this request's input.

As with Chat Completions, every field a client commonly sends is checked (a bad value is a
400 whose ``param`` names it), and one clawgate does not model is kept in `Options.extra`.
Items no wire here can carry (files, audio, item references) are refused up front. Tools
other than functions (OpenAI's hosted ``web_search``, Codex's ``namespace`` and ``custom``
tools, …) are left out of the turn, as are known fields that change nothing here
(``include``, ``truncation``); each is named as dropped (`ResponsesRequest.unsent`), so a
client that sends its whole default tool set is still answered — the model just cannot call
those tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

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
from clawgate.runtime import TurnRequest

__all__ = ["ResponsesRequest", "input_messages", "parse_request", "turn_request"]

Shape = TypeVar("Shape", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lenient(BaseModel):
    """Items clients echo back from an earlier output (``id``, ``status``, ``annotations``,
    ``logprobs``): what is not modelled is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class InputText(_Lenient):
    type: Literal["input_text", "output_text"]
    text: str


class InputImage(_Lenient):
    type: Literal["input_image"]
    image_url: str | None = Field(default=None, pattern=r"^(https?://|data:image/)")
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class RefusalIn(_Lenient):
    type: Literal["refusal"]
    refusal: str


PartIn = InputText | InputImage | RefusalIn
_PARTS: dict[str, type[PartIn]] = {
    "input_text": InputText,
    "output_text": InputText,
    "input_image": InputImage,
    "refusal": RefusalIn,
}
_UNSUPPORTED = ("input_file", "input_audio")  # no wire here can carry them


class MessageItem(_Lenient):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[dict[str, Any]]  # parts: read one by one (`_content`)


class FunctionCallItem(_Lenient):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str


class FunctionCallOutputItem(_Lenient):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[dict[str, Any]]


Item = MessageItem | FunctionCallItem | FunctionCallOutputItem
_ITEMS: dict[str, type[Item]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
}


class FunctionTool(_Strict):
    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class NamedFunction(_Strict):
    type: Literal["function"]
    name: str = Field(min_length=1)


class FormatIn(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = Field(default=None, min_length=1, max_length=64)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class TextConfig(_Strict):
    format: FormatIn | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(_Lenient):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: str | None = None


class ResponsesRequest(BaseModel):
    # Unknown top-level fields are kept (`model_extra`) and forwarded or reported.
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]] = Field(min_length=1)
    models: list[str] | None = None  # the OpenRouter convention, as on chat
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedFunction | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    max_output_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    service_tier: str | None = None
    metadata: dict[str, str] | None = None
    store: bool = True
    previous_response_id: str | None = Field(default=None, min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None  # include_obfuscation: not needed here
    user: str | None = None
    include: list[str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    background: bool | None = None
    conversation: Any = None
    _left_out: tuple[str, ...] = PrivateAttr(default=())  # tools no wire here can serve

    @property
    def unsent(self) -> tuple[str, ...]:
        """Fields and tools asked for that change nothing here, named as dropped."""
        fields = (("include", bool(self.include)), ("truncation", self.truncation))
        return (*(name for name, asked in fields if asked), *self._left_out)


def parse_request(document: object) -> ResponsesRequest:
    left_out: tuple[str, ...] = ()
    if isinstance(document, dict):
        _precheck(document)
        document, left_out = _without_served_elsewhere(document)
    body = validate(ResponsesRequest, document)
    body._left_out = left_out
    if body.background:
        raise RequestError("background responses are not supported here", param="background")
    if body.conversation is not None:
        raise RequestError(
            "conversations are not supported here; continue with previous_response_id",
            param="conversation",
        )
    fmt = body.text.format if body.text else None
    if fmt is not None and fmt.type == "json_schema" and not fmt.name:
        raise RequestError("a json_schema format needs its name", param="text.format.name")
    return body


def _precheck(document: dict[str, Any]) -> None:
    """The fields whose value may be of several shapes, checked first, so that a bad one is
    named by its place (pydantic would name each shape it tried)."""
    given = document.get("input")
    if given is not None:
        _string_or_objects(given, "input")
    tools = document.get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if not isinstance(kind, str) or not kind:
            raise RequestError(
                f"tools.{index}: must be an object with its type", param=f"tools.{index}.type"
            )
    choice = document.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        _at(NamedFunction, choice, "tool_choice")
    elif isinstance(choice, dict) and not isinstance(choice.get("type"), str):
        raise RequestError("tool_choice: needs its type", param="tool_choice.type")
    elif not isinstance(choice, dict | None) and choice not in ("auto", "none", "required"):
        raise RequestError(
            "tool_choice: must be 'auto', 'none', 'required' or {type: 'function', name}",
            param="tool_choice",
        )


def _without_served_elsewhere(
    document: dict[str, Any],
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``document`` with only its function tools, and the names of the tools left out
    (``tools.web_search``, ``tools.namespace:multi_agent``, …). A ``tool_choice`` that
    forces a left-out tool goes too: nothing here could honour it."""
    tools = document.get("tools")
    if not isinstance(tools, list):
        return document, ()
    kept = [tool for tool in tools if tool.get("type") == "function"]
    if len(kept) == len(tools):
        return document, ()
    left_out = tuple(dict.fromkeys(_tool_label(tool) for tool in tools if tool not in kept))
    trimmed = {**document, "tools": kept}
    choice = document.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") != "function":
        del trimmed["tool_choice"]
        left_out = (*left_out, "tool_choice")
    return trimmed, left_out


def _tool_label(tool: dict[str, Any]) -> str:
    name = tool.get("name")
    kind = str(tool["type"])[:64]
    return f"tools.{kind}:{name[:64]}" if isinstance(name, str) and name else f"tools.{kind}"


def _string_or_objects(value: object, where: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise RequestError(f"{where}: must be a string or a list", param=where)
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise RequestError(f"{where}.{index}: must be an object", param=f"{where}.{index}")


def _at(model: type[Shape], raw: object, where: str) -> Shape:
    """`validate`, with the problem's place under ``where``."""
    try:
        return validate(model, raw)
    except RequestError as exc:
        param = where + (f".{exc.param}" if exc.param else "")
        raise RequestError(f"{where}: {exc.message}", param=param) from None


def input_messages(body: ResponsesRequest) -> tuple[Message, ...]:
    """This request's own conversation (``instructions`` and history not included)."""
    if isinstance(body.input, str):
        return (Message("user", body.input),)
    messages: list[Message] = []
    for index, raw in enumerate(body.input):
        item = _item(raw, f"input.{index}")
        if isinstance(item, FunctionCallItem):
            call = ToolCall(item.call_id, item.name, item.arguments)
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":  # the calls of that answer
                messages[-1] = replace(last, tool_calls=(*last.tool_calls, call))
            else:
                messages.append(Message("assistant", "", tool_calls=(call,)))
        elif isinstance(item, FunctionCallOutputItem):
            content, _ = _content(item.output, f"input.{index}.output")
            messages.append(Message("tool", content, tool_call_id=item.call_id))
        else:
            messages.append(_message(item, f"input.{index}"))
    return tuple(messages)


def turn_request(body: ResponsesRequest, history: Sequence[Message] = ()) -> TurnRequest:
    """The turn: ``instructions`` first, then ``history`` (the continued conversation), then
    this request's input."""
    lead = (Message("system", body.instructions),) if body.instructions else ()
    model = None if body.models or body.model in DEFAULT_MODELS else body.model
    return TurnRequest(
        (*lead, *history, *input_messages(body)),
        model=model,
        models=tuple(body.models or ()),
        max_tokens=body.max_output_tokens,
        temperature=body.temperature,
        options=_options(body),
        stream=body.stream,
    )


def _item(raw: dict[str, Any], where: str) -> Item:
    kind = raw.get("type", "message")
    model = _ITEMS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise RequestError(
            f"{where} is a {kind!r} item, which clawgate does not take here; send "
            "messages, function_call and function_call_output items",
            param=f"{where}.type",
        )
    for field in ("content", "output"):
        if field in raw and field in model.model_fields:
            _string_or_objects(raw[field], f"{where}.{field}")
    return _at(model, raw, where)


def _message(item: MessageItem, where: str) -> Message:
    content, refusal = _content(item.content, f"{where}.content")
    return Message(item.role, content, refusal=refusal if item.role == "assistant" else None)


def _content(
    given: str | list[dict[str, Any]], where: str
) -> tuple[str | tuple[Part, ...], str | None]:
    """Content as the conversation model keeps it, and the text of its refusal parts."""
    if isinstance(given, str):
        return given, None
    found: list[Part] = []
    refusals: list[str] = []
    for j, raw in enumerate(given):
        place = f"{where}.{j}"
        kind = raw.get("type")
        if kind in _UNSUPPORTED:
            raise RequestError(
                f"{place} is an {kind} part, which no configured model can take here; "
                "send text or images",
                param=place,
            )
        model = _PARTS.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise RequestError(
                f"{place} is a {kind!r} part; send input_text or input_image parts",
                param=f"{place}.type",
            )
        part = _at(model, raw, place)
        if isinstance(part, InputText):
            found.append(TextPart(part.text))
        elif isinstance(part, RefusalIn):
            refusals.append(part.refusal)
        elif part.image_url is None:
            raise RequestError(
                f"{place}: an image by file_id cannot be read here; send its image_url "
                "(a web address or a data URL)",
                param=f"{place}.image_url",
            )
        else:
            found.append(ImagePart(part.image_url, part.detail))
    return tuple(found), "".join(refusals) or None


def _options(body: ResponsesRequest) -> Options:
    given = body.tool_choice
    choice: ToolChoice | None = NamedTool(given.name) if isinstance(given, NamedFunction) else given
    extra = dict(body.model_extra or {})
    if body.text is not None and body.text.verbosity is not None:
        extra["verbosity"] = body.text.verbosity  # Chat Completions spells it at the top
    return Options(
        tools=tuple(Tool(t.name, t.description, t.parameters, t.strict) for t in body.tools or ()),
        tool_choice=choice,
        parallel_tool_calls=body.parallel_tool_calls,
        response_format=_format(body.text.format if body.text else None),
        top_p=body.top_p,
        logprobs=True if body.top_logprobs else None,
        top_logprobs=body.top_logprobs,
        reasoning_effort=body.reasoning.effort if body.reasoning else None,
        service_tier=body.service_tier,
        user=body.user,
        metadata=body.metadata,
        extra=extra,
    )


def _format(given: FormatIn | None) -> ResponseFormat | None:
    if given is None:
        return None
    if given.type != "json_schema":
        return ResponseFormat(given.type)
    return ResponseFormat("json_schema", given.name, given.schema_, given.strict, given.description)

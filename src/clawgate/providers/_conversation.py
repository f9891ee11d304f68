"""What a turn sends a model: the conversation (messages of typed parts, tool calls and their
results) and the request's options (tools, tool choice, output format, sampling). One model
for every layer; each wire module translates it to its own spelling and back.

The shapes follow OpenAI's Chat Completions request, the common denominator of the wires
(https://platform.openai.com/docs/api-reference/chat/create); what a wire cannot say is its
encoder's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Detail",
    "ImagePart",
    "Message",
    "ModelRequest",
    "NamedTool",
    "Options",
    "Part",
    "ResponseFormat",
    "Role",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "from_record",
    "text_of",
    "to_record",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
Detail = Literal["auto", "low", "high"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by address: ``https://…`` or a ``data:image/…;base64,…`` URL."""

    url: str
    detail: Detail | None = None

    @property
    def data(self) -> tuple[str, str] | None:
        """(media type, base64 data) of a data URL; None for a web address."""
        if not self.url.startswith("data:"):
            return None
        header, _, payload = self.url[5:].partition(",")
        media, _, encoding = header.partition(";")
        return (media or "application/octet-stream", payload) if encoding == "base64" else None


Part = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the assistant asked for; ``arguments`` is the JSON text the model wrote
    (kept as text: it may not parse, and the caller decides what to do then)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str | tuple[Part, ...] = ""
    tool_calls: tuple[ToolCall, ...] = ()  # assistant
    tool_call_id: str | None = None  # tool: the call this answers
    name: str | None = None  # the participant's name, where a wire keeps it
    refusal: str | None = None  # assistant: a model's refusal, kept apart from its text
    reasoning: str | None = None  # assistant: reasoning text a wire exposed

    @property
    def text(self) -> str:
        return text_of(self.content)

    @property
    def parts(self) -> tuple[Part, ...]:
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        return self.content

    @property
    def has_images(self) -> bool:
        return any(isinstance(p, ImagePart) for p in self.parts)


def text_of(content: str | tuple[Part, ...]) -> str:
    """The text of some content, images left out."""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; ``parameters`` is its arguments' JSON Schema."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class NamedTool:
    """``tool_choice`` naming one function: the model must call it."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedTool


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None  # json_schema
    schema: Mapping[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """The request's options beyond the conversation. None (or empty) means "not asked", and
    an encoder sends only what was asked."""

    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: Mapping[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    service_tier: str | None = None
    user: str | None = None
    metadata: Mapping[str, str] | None = None
    # Fields clawgate does not model, as the caller sent them: a Chat Completions upstream gets
    # them unchanged, other wires drop them (and the gateway says which).
    extra: Mapping[str, Any] = field(default_factory=dict)
    # How the caller spelled the answer's cap, so a wire that drops it names the caller's field.
    cap_name: str = "max_tokens"


@dataclass(frozen=True, slots=True)
class ModelRequest:
    model: str  # the provider's own model id, without the "provider/" prefix
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True  # False: ask for one JSON answer (still yielded as events)
    session_id: str | None = None  # providers that key caches or limits by conversation
    options: Options = field(default_factory=Options)


def to_record(message: Message) -> dict[str, Any]:
    """The whole message as JSON, for a session's history (`from_record` reads it back)."""
    record: dict[str, Any] = {"role": message.role}
    if isinstance(message.content, str):
        record["content"] = message.content
    else:
        record["content"] = [
            {"text": p.text} if isinstance(p, TextPart) else {"image": p.url, "detail": p.detail}
            for p in message.content
        ]
    if message.tool_calls:
        record["toolCalls"] = [[c.id, c.name, c.arguments] for c in message.tool_calls]
    for key, value in (
        ("toolCallId", message.tool_call_id),
        ("name", message.name),
        ("refusal", message.refusal),
        ("reasoning", message.reasoning),
    ):
        if value is not None:
            record[key] = value
    return record


def from_record(record: Mapping[str, Any]) -> Message:
    content = record.get("content", "")
    if not isinstance(content, str):
        content = tuple(
            TextPart(p["text"]) if "text" in p else ImagePart(p["image"], p.get("detail"))
            for p in content
        )
    return Message(
        role=record["role"],
        content=content,
        tool_calls=tuple(ToolCall(*c) for c in record.get("toolCalls", ())),
        tool_call_id=record.get("toolCallId"),
        name=record.get("name"),
        refusal=record.get("refusal"),
        reasoning=record.get("reasoning"),
    )

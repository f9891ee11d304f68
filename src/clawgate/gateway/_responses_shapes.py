"""The Responses API's answer shapes (https://platform.openai.com/docs/api-reference/responses/object):
the response object, its output items (an assistant ``message`` of ``output_text``, one
``function_call`` item per call) and its usage; and who answered, with the options its wire
left out named as this API spells them.

A response's id is ``resp_<turn id>``; its items' ids derive from the turn the same way
(``msg_<turn id>``, ``fc_<turn id>_<n>`` for the n-th call), so a streamed answer's items and
the same answer's items unstreamed have the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from clawgate.gateway._responses_request import NamedFunction, ResponsesRequest
from clawgate.providers import ToolCall, Usage
from clawgate.runtime import Answering, TurnResult

__all__ = [
    "Frame",
    "call_item",
    "echo",
    "incomplete_reason",
    "message_item",
    "output_items",
    "output_text",
    "response_id",
    "surface",
    "usage",
]

# The wires name what they left out as Chat Completions does; this API's names for them.
_RENAMED = {
    "max_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "response_format": "text.format",
    "logprobs": "top_logprobs",
    "messages.name": "input.name",
}

# A finish reason that is not a whole answer, as ``incomplete_details.reason``.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}

Who = TypeVar("Who", Answering, TurnResult)


def response_id(turn_id: str) -> str:
    return f"resp_{turn_id}"


def surface(who: Who, unsent: tuple[str, ...] = ()) -> Who:
    """``who`` with its dropped options in this API's names, and ``unsent`` (fields asked
    for that change nothing here) added."""
    names = [_RENAMED.get(name, name) for name in (*who.dropped, *unsent)]
    return replace(who, dropped=tuple(dict.fromkeys(names)))


def incomplete_reason(finish_reason: str) -> str | None:
    return _INCOMPLETE.get(finish_reason)


def usage(used: Usage | None) -> dict[str, Any] | None:
    if used is None:
        return None
    return {
        "input_tokens": used.input_tokens,
        "input_tokens_details": {"cached_tokens": used.cached_tokens or 0},
        "output_tokens": used.output_tokens,
        "output_tokens_details": {"reasoning_tokens": used.reasoning_tokens or 0},
        "total_tokens": used.input_tokens + used.output_tokens,
    }


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    """An assistant message; one in progress has no content yet."""
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [output_text(text)] if status != "in_progress" else [],
    }


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(item_id: str, call: ToolCall, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "status": status,
    }


def output_items(result: TurnResult) -> list[dict[str, Any]]:
    """A whole answer's items: its text (unless it is only calls), then each call."""
    status = "incomplete" if incomplete_reason(result.finish_reason) else "completed"
    items = []
    if result.text or not result.tool_calls:
        items.append(message_item(f"msg_{result.turn_id}", result.text, status))
    for n, call in enumerate(result.tool_calls):
        items.append(call_item(f"fc_{result.turn_id}_{n}", call, "completed"))
    return items


def echo(body: ResponsesRequest) -> dict[str, Any]:
    """The request's settings, as every response object repeats them."""
    fmt = body.text.format if body.text else None
    text: dict[str, Any] = {
        "format": fmt.model_dump(by_alias=True, exclude_none=True) if fmt else {"type": "text"}
    }
    if body.text and body.text.verbosity:
        text["verbosity"] = body.text.verbosity
    given = body.tool_choice
    choice = given.model_dump() if isinstance(given, NamedFunction) else given or "auto"
    return {
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "metadata": dict(body.metadata or {}),
        "parallel_tool_calls": True
        if body.parallel_tool_calls is None
        else body.parallel_tool_calls,
        "previous_response_id": body.previous_response_id,
        "reasoning": {
            "effort": body.reasoning.effort if body.reasoning else None,
            "summary": body.reasoning.summary if body.reasoning else None,
        },
        "store": body.store,
        "temperature": body.temperature,
        "text": text,
        "tool_choice": choice,
        "tools": [t.model_dump(exclude_none=True) for t in body.tools or ()],
        "top_p": body.top_p,
        "truncation": body.truncation or "disabled",
        "user": body.user,
    }


@dataclass(frozen=True)
class Frame:
    """What every rendering of one response shares: its id, when it began, the request's
    settings."""

    turn_id: str
    created_at: int
    settings: dict[str, Any]

    @property
    def id(self) -> str:
        return response_id(self.turn_id)

    def response(
        self,
        status: str,
        model: str,
        output: list[dict[str, Any]],
        facts: dict[str, Any],
        *,
        used: Usage | None = None,
        finish_reason: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        reason = incomplete_reason(finish_reason) if finish_reason else None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": reason} if reason else None,
            "model": model,
            "output": output,
            "usage": usage(used),
            **self.settings,
            "clawgate": facts,
        }

    def answered(self, result: TurnResult, facts: dict[str, Any]) -> dict[str, Any]:
        """The whole answer's response object."""
        status = "incomplete" if incomplete_reason(result.finish_reason) else "completed"
        return self.response(
            status,
            result.model,
            output_items(result),
            facts,
            used=result.usage,
            finish_reason=result.finish_reason,
        )

"""Anthropic's token counting endpoint, ``POST /v1/messages/count_tokens``
(https://docs.anthropic.com/en/api/messages-count-tokens), for `FakeModelAPI`: it takes a
Messages body without ``max_tokens`` (``model``, ``messages``, ``system``, ``tools``,
``tool_choice``, ``thinking``) and answers ``{"input_tokens": N}``.

Queue `counted` under a provider's path: ``api.script(counted(), path="/anth" + PATH)``.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.model_api import Reply

__all__ = ["INPUT_TOKENS", "PATH", "count_json", "counted"]

PATH = "/v1/messages/count_tokens"
# The documented example's count.
INPUT_TOKENS = 2095


def count_json(tokens: int = INPUT_TOKENS) -> dict[str, Any]:
    return {"input_tokens": tokens}


def counted(tokens: int = INPUT_TOKENS) -> Reply:
    return Reply(body=count_json(tokens), headers={"request-id": "req_01CountTokens7Vq2"})

"""What the hostile-request tests share: a config whose every surface can answer a good
request on the fake upstream (the embeddings chain included), a good body for each route that
takes one, the routes the app registers, and the checks of a refusal's shape per surface."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from tests.fakes import embeddings
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import config

__all__ = [
    "ANTHROPIC_ERRORS",
    "GOOD",
    "HELLO",
    "anthropic_path",
    "checked_refusal",
    "document",
    "embedding_answers",
    "platform_path",
    "registered",
]

HELLO = [{"role": "user", "content": "Say hello."}]

# Anthropic's error types (https://docs.anthropic.com/en/api/errors).
ANTHROPIC_ERRORS = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "overloaded_error",
    }
)

# A request each route answers with a 2xx on `document`'s config.
GOOD: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "clawgate", "messages": HELLO},
    "/v1/responses": {"model": "clawgate", "input": "Say hello."},
    "/v1/messages": {"model": "clawgate", "max_tokens": 32, "messages": HELLO},
    "/v1/messages/count_tokens": {"model": "clawgate", "messages": HELLO},
    "/v1/embeddings": {"model": "clawgate", "input": "Say hello."},
    "/control/probe": {"timeout": 5},
}


def document(api_url: str) -> dict[str, Any]:
    """The gateway tests' config, with an embeddings chain on the fake's ``up`` path."""
    settings = config(api_url)
    settings["agents"]["defaults"]["embeddings"] = {"primary": "up/m"}
    return settings


def embedding_answers(api: FakeModelAPI) -> None:
    """Make the fake answer ``/up/v1/embeddings`` (8 numbers a vector) besides its chats."""
    api.default = embeddings.answering({"/up/": 8}, api.default)


def registered(app: Starlette) -> list[tuple[str, str]]:
    """(method, path template) of every route of the app, read from the app itself."""
    pairs = []
    for route in app.routes:
        assert isinstance(route, Route), f"a route this test cannot read: {route!r}"
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                pairs.append((method, route.path))
    return pairs


def anthropic_path(path: str) -> bool:
    return path.startswith("/v1/messages")


def platform_path(path: str) -> bool:
    """A path another platform calls (a channel's webhook), or a browser (the dashboard's
    pages, tested in tests/ui): it reads the status alone."""
    return path.startswith(("/channels/", "/ui"))


def checked_refusal(path: str, answer: httpx.Response) -> dict[str, Any]:
    """A refusal's error object, asserted to have the shape of ``path``'s surface: Anthropic's
    ``{"type": "error", "error": {"type", "message"}}`` on the Messages API, else OpenAI's
    ``{"error": {"message", "type", "code", "param"}}``."""
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:500])
    if platform_path(path):
        return {}
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = answer.json()
    if anthropic_path(path):
        assert body["type"] == "error", body
        error = body["error"]
        assert set(error) == {"type", "message"}, body
        assert error["type"] in ANTHROPIC_ERRORS, body
    else:
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"message", "type", "code", "param"}, body
        assert error["type"] in {"invalid_request_error", "authentication_error"}, body
        assert error["param"] is None or isinstance(error["param"], str), body
    assert isinstance(error["message"], str), body
    assert error["message"], body
    return dict(error)

"""What the tests of the API surfaces share: upstream entries on the fake for each wire, a
module's gateway serving a config, SDK clients closed with the module, and the last body an
upstream path was sent."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

import pytest

from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway

__all__ = ["QUICK", "Clients", "last_body", "serving", "upstream"]

# The path after a provider's name on the fake, per wire.
_BASE = {"openai-completions": "/v1", "openai-responses": "/v1", "anthropic-messages": ""}
QUICK = {"connect": 2, "firstToken": 2, "idle": 2, "total": 10}


class _Closable(Protocol):
    def close(self) -> None: ...


Client = TypeVar("Client", bound=_Closable)


def upstream(
    api_url: str,
    name: str,
    api: str = "openai-completions",
    *models: dict[str, Any],
    auth: str = "none",
    timeouts: dict[str, int] = QUICK,
) -> dict[str, Any]:
    """A provider entry whose base URL is ``name``'s path on the fake, speaking ``api``."""
    return {
        "api": api,
        "baseUrl": f"{api_url}/{name}{_BASE[api]}",
        "auth": auth,
        "timeouts": timeouts,
        "models": list(models) or [{"id": "m"}],
    }


@contextlib.contextmanager
def serving(
    tmp_path_factory: pytest.TempPathFactory,
    api: FakeModelAPI,
    document: dict[str, Any],
    name: str,
) -> Iterator[RunningGateway]:
    """A gateway on a state directory of its own, serving ``document``; stopped after."""
    running = start_gateway(tmp_path_factory.mktemp(name) / "state", api)
    running.write_config(json.dumps(document))
    try:
        yield running
    finally:
        running.stop()


class Clients(Generic[Client]):
    """One SDK client per gateway and key, all closed at once (no pooled socket is left to
    the garbage collector, which the suite's warnings-as-errors would catch)."""

    def __init__(self, make: Callable[[RunningGateway, str], Client]) -> None:
        self._make = make
        self._made: dict[tuple[str, str], Client] = {}

    def __call__(self, gateway: RunningGateway, key: str | None = None) -> Client:
        token = key or gateway.token
        if (gateway.url, token) not in self._made:
            self._made[gateway.url, token] = self._make(gateway, token)
        return self._made[gateway.url, token]

    def close(self) -> None:
        for made in self._made.values():
            made.close()
        self._made.clear()


def last_body(api: FakeModelAPI, prefix: str) -> dict[str, Any]:
    """The body of the last request the fake saw under ``prefix``."""
    body = api.paths(prefix)[-1].body
    assert isinstance(body, dict)
    return body

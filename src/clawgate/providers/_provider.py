"""What every HTTP provider shares: its settings, its transport, and the one call shape
(send; relay the stream, or the JSON answer as the same events)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import httpx

from clawgate.clock import Clock
from clawgate.config import ProviderSettings, Timeouts
from clawgate.failures import FailureClass
from clawgate.providers._classify import Classifier, Refine
from clawgate.providers._errors import ProviderError
from clawgate.providers._events import StreamEvent
from clawgate.providers._http import HttpTransport
from clawgate.providers._stream import Wire, relay, relay_json

__all__ = ["HttpProvider", "Parse", "needs_profile"]

Parse = Callable[[dict[str, Any], str | None], Iterator[StreamEvent]]


class HttpProvider:
    def __init__(
        self,
        name: str,
        settings: ProviderSettings,
        *,
        default_base_url: str | None,
        login_fix: str,
        refine: Refine | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        base_url = settings.base_url or default_base_url
        self.base_url = base_url.rstrip("/") if base_url else None
        classifier = Classifier(name, login_fix, refine)
        self.transport = HttpTransport(classifier, settings.timeouts or Timeouts(), clock=clock)

    def url(self, path: str, base_url: str | None = None) -> str:
        base = (base_url or self.base_url or "").rstrip("/")
        if not base:
            raise ProviderError(
                FailureClass.UNAVAILABLE,
                f"provider {self.name!r} has no base URL",
                fix=f"set models.providers.{self.name}.baseUrl to the server's API address",
            )
        return base + path

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def call(
        self,
        url: str,
        body: Mapping[str, Any],
        *,
        stream: bool,
        wire: Wire,
        parse: Parse,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncIterator[StreamEvent]:
        async with self.transport.exchange(
            "POST", url, json_body=body, headers=headers, auth=auth
        ) as exchange:
            events = relay(exchange, wire) if stream else relay_json(exchange, parse)
            async for event in events:
                yield event


def needs_profile(name: str) -> ProviderError:
    return ProviderError(
        FailureClass.AUTH_DEAD,
        f"{name} needs a logged-in profile",
        fix=f"clawgate models auth login --provider {name}",
    )

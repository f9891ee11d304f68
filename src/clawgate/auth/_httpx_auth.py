"""Credentials on requests: an `httpx.Auth` flow over the broker (docs/style.md,
"Credentials ride on requests as an httpx.Auth flow"; docs/auth.md, step 8).

Send with the profile's credential; on a 401, ask the broker past the rejected generation
(it reloads from disk, adopts a newer one, or refreshes once) and retry exactly once. A second
401 goes back to the caller as the auth failure of this profile for this turn. Nothing else
(429 usage limits, 403 plans) is retried here: those are not credential problems.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass

import httpx

from clawgate.auth._broker import Broker, Credential

__all__ = ["Access", "Apply", "BrokerAuth", "bearer"]


def bearer(request: httpx.Request, credential: Credential) -> None:
    if credential.token is not None:
        request.headers["Authorization"] = f"Bearer {credential.token.reveal()}"


Apply = Callable[[httpx.Request, Credential], None]


class BrokerAuth(httpx.Auth):
    # The flow below never reads a body (not even a 401's), so a stream passes through
    # unbuffered; the flag only says so, as httpx's own flows are read by it.
    requires_response_body = False

    def __init__(self, broker: Broker, profile_id: str, apply: Apply = bearer) -> None:
        self.broker = broker
        self.profile_id = profile_id
        self.apply = apply
        self.used: list[Credential] = []  # what was sent, in order: probes report it

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("BrokerAuth is async-only: use httpx.AsyncClient")
        yield request  # pragma: no cover

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        credential = await self.broker.credential(self.profile_id)
        self._apply(request, credential)
        response = yield request
        if response.status_code != 401:
            return
        credential = await self.broker.credential(
            self.profile_id, force_refresh_if_generation=credential.generation
        )
        self._apply(request, credential)
        yield request

    def _apply(self, request: httpx.Request, credential: Credential) -> None:
        self.used.append(credential)
        self.apply(request, credential)


@dataclass(frozen=True)
class Access:
    """How a transport reaches one profile's credential: only ever through the broker."""

    broker: Broker
    profile_id: str

    async def credential(self) -> Credential:
        return await self.broker.credential(self.profile_id)

    def auth(self, apply: Apply = bearer) -> BrokerAuth:
        return BrokerAuth(self.broker, self.profile_id, apply)

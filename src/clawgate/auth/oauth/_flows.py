"""The two interactive logins, put together from the RFC pieces: a browser login (code + PKCE
to a loopback listener, racing a paste) and a device login. Providers supply the endpoints and
vendor details; the person's side (printing, opening a browser, reading a paste, a countdown)
comes from a `LoginUI`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from clawgate.auth.oauth._errors import OAuthError
from clawgate.auth.oauth._paste import code_from_paste
from clawgate.auth.oauth.rfc6749 import OAuthClient, TokenSet, authorization_url, exchange_code
from clawgate.auth.oauth.rfc7636 import Pkce
from clawgate.auth.oauth.rfc8252 import LoopbackListener
from clawgate.auth.oauth.rfc8628 import Sleep, authorize, poll_token
from clawgate.clock import Clock
from clawgate.failures import FailureClass


class LoginUI(Protocol):
    def open_url(self, url: str) -> None:
        """Show the address and try to open a browser on it."""

    async def paste(self) -> str | None:
        """The next line the person pastes; None when nothing can be pasted here."""

    async def secret(self, prompt: str) -> str | None:
        """A secret typed or pasted without echo; None when there is no one to ask."""

    def show_code(self, user_code: str, verification_uri: str, expires_in: float) -> None:
        """Show a device login's code and where to enter it."""

    def say(self, message: str) -> None: ...


@dataclass(frozen=True)
class Redirect:
    """Where a provider's registration lets the browser come back to."""

    path: str = "/callback"
    ports: tuple[int, ...] = (0,)  # 0: any free port (RFC 8252 §7.3)
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class LoginTools:
    http: httpx.AsyncClient
    clock: Clock
    sleep: Sleep
    ui: LoginUI


async def browser_login(tools: LoginTools, client: OAuthClient, redirect: Redirect) -> TokenSet:
    pkce = Pkce.new()
    state = secrets.token_urlsafe(24)  # separate from the verifier (docs/auth.md)
    async with LoopbackListener(
        state=state,
        issuer=client.issuer,
        path=redirect.path,
        ports=redirect.ports,
        redirect_host=redirect.host,
    ) as listener:
        url = authorization_url(client, redirect_uri=listener.redirect_uri, state=state, pkce=pkce)
        tools.ui.open_url(url)
        code = await first_of(listener.code, lambda: _pasted_code(tools.ui, state, client.issuer))
    return await exchange_code(
        tools.http,
        client,
        code=code,
        redirect_uri=listener.redirect_uri,
        verifier=pkce.verifier,
        now=tools.clock.now(),
    )


async def _pasted_code(ui: LoginUI, state: str, issuer: str | None) -> str:
    while True:
        text = await ui.paste()
        if text is None:
            await asyncio.Event().wait()  # no paste here: the listener must answer
        try:
            return code_from_paste(text or "", state=state, issuer=issuer)
        except OAuthError as exc:
            if exc.failure.kind is not FailureClass.BAD_REQUEST:
                raise
            ui.say(f"{exc.message}; {exc.fix or 'paste again'}")


async def first_of(*waits: Callable[[], Awaitable[str]]) -> str:
    """The first answer of several waits; the others are cancelled."""
    tasks = [asyncio.ensure_future(wait()) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def device_login(tools: LoginTools, client: OAuthClient) -> TokenSet:
    """RFC 8628 with the standard token-endpoint poll."""
    device = await authorize(tools.http, client, now=tools.clock.now())
    tools.ui.show_code(
        device.user_code,
        device.verification_uri_complete or device.verification_uri,
        device.expires_in,
    )
    return await poll_token(tools.http, client, device, clock=tools.clock, sleep=tools.sleep)

"""The device authorization grant (RFC 8628): a code to type on another device, and polling."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from clawgate.auth.oauth._errors import OAuthError, TokenError
from clawgate.auth.oauth.rfc6749 import OAuthClient, TokenSet, post_form, token_request
from clawgate.clock import Clock
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # §3.2: "If no value is provided, clients MUST use 5 as the default."
SLOW_DOWN_STEP = 5.0  # §3.5: add 5 s to this and all subsequent polls.

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: Secret
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float = DEFAULT_INTERVAL
    verification_uri_complete: str | None = None


class Pending(Exception):
    """§3.5 authorization_pending: ask again after the interval."""


class SlowDown(Exception):
    """§3.5 slow_down: ask again, and from now on less often."""


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) if value > 0 else None
    return None


async def authorize(
    http: httpx.AsyncClient, client: OAuthClient, *, now: float
) -> DeviceAuthorization:
    """§3.1-3.2."""
    if client.device_authorization_endpoint is None:
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                "this issuer offers no device authorization endpoint",
                fix="log in without --device-code (a browser login)",
            )
        )
    form = {"client_id": client.client_id}
    if client.scopes:
        form["scope"] = " ".join(client.scopes)
    answer = await post_form(http, client.device_authorization_endpoint, form, now=now)
    if not isinstance(answer, dict):
        answer = {}
    device_code, user_code = answer.get("device_code"), answer.get("user_code")
    uri = answer.get("verification_uri")
    expires_in = _positive(answer.get("expires_in"))
    if not all(isinstance(v, str) and v for v in (device_code, user_code, uri)) or not expires_in:
        raise OAuthError(
            Failure(
                FailureClass.SERVER_ERROR,
                "the device authorization answer is missing device_code, user_code, "
                "verification_uri or expires_in",
            )
        )
    complete = answer.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=Secret(str(device_code)),
        user_code=str(user_code),
        verification_uri=str(uri),
        expires_in=expires_in,
        interval=_positive(answer.get("interval")) or DEFAULT_INTERVAL,
        verification_uri_complete=complete if isinstance(complete, str) else None,
    )


async def poll(
    check: Callable[[], Awaitable[T]],
    *,
    interval: float,
    expires_in: float,
    clock: Clock,
    sleep: Sleep,
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns, raising `Pending` or
    `SlowDown` meanwhile (§3.4-3.5); give up at ``expires_in``."""
    deadline = clock.monotonic() + expires_in
    while True:
        await sleep(interval)
        if clock.monotonic() >= deadline:
            raise _expired()
        try:
            return await check()
        except Pending:
            continue
        except SlowDown:
            interval += SLOW_DOWN_STEP


def _expired() -> OAuthError:
    return OAuthError(
        Failure(
            FailureClass.AUTH_DEAD,
            "the device code expired before the login was approved",
            fix="run the login again and enter the new code within its time limit",
            code="expired_token",
        )
    )


async def poll_token(
    http: httpx.AsyncClient,
    client: OAuthClient,
    device: DeviceAuthorization,
    *,
    clock: Clock,
    sleep: Sleep,
) -> TokenSet:
    """§3.4-3.5 against the token endpoint."""

    async def check() -> TokenSet:
        form = {"grant_type": GRANT_TYPE, "device_code": device.device_code.reveal()}
        try:
            return await token_request(http, client, form, now=clock.now())
        except TokenError as exc:
            raise _device_answer(exc) from None

    return await poll(
        check, interval=device.interval, expires_in=device.expires_in, clock=clock, sleep=sleep
    )


def _device_answer(exc: TokenError) -> Exception:
    if exc.failure.code == "authorization_pending":
        return Pending()
    if exc.failure.code == "slow_down":
        return SlowDown()
    if exc.failure.code == "access_denied":
        return OAuthError(
            Failure(
                FailureClass.AUTH_DEAD,
                "the login was denied on the approval page",
                fix="run the login again and approve it",
                code="access_denied",
            )
        )
    if exc.failure.code == "expired_token":
        return _expired()
    # A poll that failed on the way is just a poll that has not succeeded yet.
    if exc.failure.kind in (FailureClass.SERVER_ERROR, FailureClass.NETWORK, FailureClass.TIMEOUT):
        return Pending()
    if exc.failure.kind is FailureClass.RATE_LIMIT:
        return SlowDown()
    return exc

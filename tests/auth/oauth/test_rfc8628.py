"""The device authorization grant (RFC 8628): the authorization request (§3.1-3.2) and the
poller (§3.4-3.5) against a token endpoint played by `httpx.MockTransport`. Time passes only
on an injected `ManualClock`, moved by the injected sleep; nothing here really waits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs

import httpx
import pytest

from clawgate.auth.oauth import (
    DeviceAuthorization,
    OAuthClient,
    OAuthError,
    Pending,
    SlowDown,
    TokenError,
    TokenSet,
    poll,
    poll_token,
)
from clawgate.auth.oauth.rfc8628 import DEFAULT_INTERVAL, GRANT_TYPE, authorize
from clawgate.clock import ManualClock
from clawgate.secret import Secret

pytestmark = pytest.mark.anyio

NOW = 1_900_000_000.0
TOKEN_ENDPOINT = "https://issuer.test/oauth/token"
DEVICE_ENDPOINT = "https://issuer.test/oauth/device/code"
CLIENT = OAuthClient(
    client_id="cli-4821",
    token_endpoint=TOKEN_ENDPOINT,
    device_authorization_endpoint=DEVICE_ENDPOINT,
    scopes=("openid", "offline_access"),
)
DEVICE_CODE = Secret("dc-GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")


class Issuer:
    """Answers each request with the next scripted response and records the requests, with
    the injected clock's time at which each arrived."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.answers: list[httpx.Response | Exception] = []
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def answer(self, *answers: httpx.Response | Exception) -> None:
        self.answers.extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock.monotonic())
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def form(self, index: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[index].content.decode()).items()}


class Sleeper:
    """The injected sleep: records each wait and moves the clock by it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
def sleep(clock: ManualClock) -> Sleeper:
    return Sleeper(clock)


@pytest.fixture
def issuer(clock: ManualClock) -> Issuer:
    return Issuer(clock)


@pytest.fixture
async def http(issuer: Issuer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(issuer)) as client:
        yield client


def device(expires_in: float = 900, interval: float = DEFAULT_INTERVAL) -> DeviceAuthorization:
    return DeviceAuthorization(
        device_code=DEVICE_CODE,
        user_code="WDJB-MJHT",
        verification_uri="https://issuer.test/device",
        expires_in=expires_in,
        interval=interval,
    )


def refusal(code: str, status: int = 400, description: str | None = None) -> httpx.Response:
    body = {"error": code}
    if description is not None:
        body["error_description"] = description
    return httpx.Response(status, json=body)


def granted() -> httpx.Response:
    return httpx.Response(200, json={"access_token": "at-1", "token_type": "Bearer"})


# -- poll: the loop on its own ------------------------------------------------------------------


class Script:
    """A check that raises the scripted exceptions in order, then returns ``done``."""

    def __init__(self, *outcomes: Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return "done"


async def test_poll_waits_the_interval_before_each_check(
    clock: ManualClock, sleep: Sleeper
) -> None:
    check = Script(Pending(), Pending())
    assert await poll(check, interval=7, expires_in=100, clock=clock, sleep=sleep) == "done"
    assert sleep.slept == [7, 7, 7]
    assert check.calls == 3


async def test_slow_down_adds_five_seconds_to_this_and_every_later_poll(
    clock: ManualClock, sleep: Sleeper
) -> None:
    check = Script(Pending(), SlowDown(), Pending(), SlowDown(), Pending())
    await poll(check, interval=5, expires_in=1000, clock=clock, sleep=sleep)
    # §3.5: the interval grows by 5 s at each slow_down and never shrinks back.
    assert sleep.slept == [5, 5, 10, 10, 15, 15]
    assert check.calls == 6


async def test_poll_stops_at_expires_in_without_checking_past_it(
    clock: ManualClock, sleep: Sleeper
) -> None:
    check = Script(*[Pending() for _ in range(10)])
    with pytest.raises(OAuthError) as caught:
        await poll(check, interval=5, expires_in=12, clock=clock, sleep=sleep)
    assert caught.value.code == "auth_dead"
    assert caught.value.failure.code == "expired_token"
    assert "expired" in caught.value.message
    assert caught.value.fix is not None
    assert check.calls == 2  # at 5 s and 10 s; at 15 s the code had expired
    assert clock.monotonic() == 15


async def test_a_poll_due_exactly_at_expiry_is_not_made(clock: ManualClock, sleep: Sleeper) -> None:
    check = Script(Pending(), Pending())
    with pytest.raises(OAuthError):
        await poll(check, interval=5, expires_in=10, clock=clock, sleep=sleep)
    assert check.calls == 1


async def test_slow_down_can_push_the_next_poll_past_expiry(
    clock: ManualClock, sleep: Sleeper
) -> None:
    check = Script(SlowDown(), Pending())
    with pytest.raises(OAuthError):
        await poll(check, interval=5, expires_in=14, clock=clock, sleep=sleep)
    assert sleep.slept == [5, 10]
    assert check.calls == 1


class StoppedWallClock:
    """Wall time stands still (say, the system clock was set back); monotonic time runs."""

    def __init__(self) -> None:
        self.mono = 0.0

    def now(self) -> float:
        return NOW

    def monotonic(self) -> float:
        return self.mono


async def test_poll_measures_expiry_on_the_monotonic_clock() -> None:
    clock = StoppedWallClock()

    async def sleep(seconds: float) -> None:
        clock.mono += seconds

    check = Script(*[Pending() for _ in range(10)])
    with pytest.raises(OAuthError):
        await poll(check, interval=5, expires_in=20, clock=clock, sleep=sleep)
    assert check.calls == 3


async def test_any_other_exception_ends_the_poll_at_once(
    clock: ManualClock, sleep: Sleeper
) -> None:
    check = Script(Pending(), ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        await poll(check, interval=5, expires_in=100, clock=clock, sleep=sleep)
    assert check.calls == 2


# -- poll_token: against the token endpoint -----------------------------------------------------

TokensFor = Callable[[DeviceAuthorization], Awaitable[TokenSet]]


@pytest.fixture
def tokens_for(http: httpx.AsyncClient, clock: ManualClock, sleep: Sleeper) -> TokensFor:
    """`poll_token` for `CLIENT` and the given device authorization, against the scripted issuer
    and waiting on the manual clock."""

    async def polled(authorization: DeviceAuthorization) -> TokenSet:
        return await poll_token(http, CLIENT, authorization, clock=clock, sleep=sleep)

    return polled


async def test_pending_then_tokens(issuer: Issuer, tokens_for: TokensFor) -> None:
    issuer.answer(refusal("authorization_pending"), refusal("authorization_pending"), granted())
    tokens = await tokens_for(device())
    assert tokens.access_token == Secret("at-1")
    assert issuer.times == [5, 10, 15]
    assert issuer.form() == {
        "grant_type": GRANT_TYPE,
        "device_code": DEVICE_CODE.reveal(),
        "client_id": CLIENT.client_id,
    }
    assert str(issuer.requests[0].url) == TOKEN_ENDPOINT


async def test_slow_down_from_the_issuer_lengthens_every_later_poll(
    issuer: Issuer, sleep: Sleeper, tokens_for: TokensFor
) -> None:
    issuer.answer(
        refusal("authorization_pending"),
        refusal("slow_down"),
        refusal("authorization_pending"),
        refusal("authorization_pending"),
        granted(),
    )
    await tokens_for(device())
    assert sleep.slept == [5, 5, 10, 10, 10]
    assert issuer.times == [5, 10, 20, 30, 40]


async def test_the_interval_the_issuer_gave_is_used(
    issuer: Issuer, sleep: Sleeper, tokens_for: TokensFor
) -> None:
    issuer.answer(refusal("authorization_pending"), granted())
    await tokens_for(device(interval=2))
    assert sleep.slept == [2, 2]


async def test_refusals_with_status_200_are_read_the_same_way(
    issuer: Issuer, sleep: Sleeper, tokens_for: TokensFor
) -> None:
    # GitHub's device flow answers authorization_pending and slow_down with 200.
    issuer.answer(refusal("authorization_pending", 200), refusal("slow_down", 200), granted())
    await tokens_for(device())
    assert sleep.slept == [5, 5, 10]


async def test_access_denied_is_final_with_a_clear_message(
    issuer: Issuer, tokens_for: TokensFor
) -> None:
    issuer.answer(refusal("authorization_pending"), refusal("access_denied"))
    with pytest.raises(OAuthError) as caught:
        await tokens_for(device())
    assert caught.value.code == "auth_dead"
    assert caught.value.failure.code == "access_denied"
    assert "denied" in caught.value.message
    assert caught.value.fix is not None
    assert "approve" in caught.value.fix
    assert len(issuer.requests) == 2  # no poll after the refusal


async def test_expired_token_from_the_issuer_is_final_with_a_clear_message(
    issuer: Issuer, tokens_for: TokensFor
) -> None:
    issuer.answer(refusal("expired_token", description="The device code has expired"))
    with pytest.raises(OAuthError) as caught:
        await tokens_for(device())
    assert caught.value.code == "auth_dead"
    assert caught.value.failure.code == "expired_token"
    assert "expired before the login was approved" in caught.value.message
    assert caught.value.fix is not None
    assert len(issuer.requests) == 1


async def test_nobody_approving_ends_at_expires_in(issuer: Issuer, tokens_for: TokensFor) -> None:
    issuer.answer(*[refusal("authorization_pending") for _ in range(20)])
    with pytest.raises(OAuthError) as caught:
        await tokens_for(device(expires_in=30))
    assert caught.value.failure.code == "expired_token"
    assert issuer.times == [5, 10, 15, 20, 25]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(500, json={"error": "server_error"}),
        refusal("temporarily_unavailable", 503),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_a_poll_that_fails_on_the_way_is_just_not_answered_yet(
    issuer: Issuer,
    sleep: Sleeper,
    tokens_for: TokensFor,
    failure: httpx.Response | Exception,
) -> None:
    issuer.answer(failure, granted())
    tokens = await tokens_for(device())
    assert tokens.access_token == Secret("at-1")
    assert sleep.slept == [5, 5]  # the interval is unchanged


async def test_a_rate_limited_poll_slows_down(
    issuer: Issuer, sleep: Sleeper, tokens_for: TokensFor
) -> None:
    limited = httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "1"})
    issuer.answer(limited, refusal("authorization_pending"), granted())
    await tokens_for(device())
    assert sleep.slept == [5, 10, 10]


@pytest.mark.parametrize(
    ("code", "expected"),
    [("invalid_grant", "auth_dead"), ("invalid_client", "bad_request")],
)
async def test_other_refusals_end_the_poll_as_the_token_error_they_are(
    issuer: Issuer,
    tokens_for: TokensFor,
    code: str,
    expected: str,
) -> None:
    issuer.answer(refusal("authorization_pending"), refusal(code))
    with pytest.raises(TokenError) as caught:
        await tokens_for(device())
    assert caught.value.code == expected
    assert caught.value.failure.code == code
    assert len(issuer.requests) == 2


async def test_the_device_code_never_appears_in_an_error(
    issuer: Issuer, tokens_for: TokensFor
) -> None:
    issuer.answer(refusal("invalid_grant", description="bad device code"))
    with pytest.raises(TokenError) as caught:
        await tokens_for(device())
    assert DEVICE_CODE.reveal() not in str(caught.value)
    assert DEVICE_CODE.reveal() not in repr(caught.value)


# -- authorize: §3.1-3.2 ------------------------------------------------------------------------

ANSWER = {
    "device_code": DEVICE_CODE.reveal(),
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://issuer.test/device",
    "verification_uri_complete": "https://issuer.test/device?user_code=WDJB-MJHT",
    "expires_in": 1800,
    "interval": 3,
}


async def test_authorize_asks_for_a_code_with_the_client_and_scopes(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.answer(httpx.Response(200, json=ANSWER))
    answer = await authorize(http, CLIENT, now=NOW)
    assert str(issuer.requests[0].url) == DEVICE_ENDPOINT
    assert issuer.form() == {"client_id": CLIENT.client_id, "scope": "openid offline_access"}
    assert answer == DeviceAuthorization(
        device_code=DEVICE_CODE,
        user_code="WDJB-MJHT",
        verification_uri="https://issuer.test/device",
        expires_in=1800.0,
        interval=3.0,
        verification_uri_complete="https://issuer.test/device?user_code=WDJB-MJHT",
    )


async def test_authorize_without_scopes_sends_none(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.answer(httpx.Response(200, json=ANSWER))
    client = OAuthClient("cli-1", TOKEN_ENDPOINT, device_authorization_endpoint=DEVICE_ENDPOINT)
    await authorize(http, client, now=NOW)
    assert issuer.form() == {"client_id": "cli-1"}


@pytest.mark.parametrize("interval", [None, 0, -5, "5", True, float("nan")])
async def test_without_a_usable_interval_the_default_is_five_seconds(
    http: httpx.AsyncClient, issuer: Issuer, interval: object
) -> None:
    body: dict[str, object] = {k: v for k, v in ANSWER.items() if k != "interval"}
    if interval is not None:
        body["interval"] = interval
    # Written by the json module itself: httpx's json= refuses NaN, which issuers can send.
    issuer.answer(httpx.Response(200, content=json.dumps(body).encode()))
    answer = await authorize(http, CLIENT, now=NOW)
    assert answer.interval == DEFAULT_INTERVAL == 5.0
    assert device().interval == 5.0  # and a DeviceAuthorization's own default


@pytest.mark.parametrize("missing", ["device_code", "user_code", "verification_uri", "expires_in"])
async def test_an_answer_missing_a_required_field_is_a_server_error(
    http: httpx.AsyncClient, issuer: Issuer, missing: str
) -> None:
    issuer.answer(httpx.Response(200, json={k: v for k, v in ANSWER.items() if k != missing}))
    with pytest.raises(OAuthError) as caught:
        await authorize(http, CLIENT, now=NOW)
    assert caught.value.code == "server_error"
    assert missing in caught.value.message


async def test_an_answer_that_is_not_an_object_is_a_server_error(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.answer(httpx.Response(200, json=["device_code"]))
    with pytest.raises(OAuthError) as caught:
        await authorize(http, CLIENT, now=NOW)
    assert caught.value.code == "server_error"


async def test_a_refused_authorization_request_is_classified(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.answer(refusal("invalid_client", 401, "Unknown client"))
    with pytest.raises(TokenError) as caught:
        await authorize(http, CLIENT, now=NOW)
    assert caught.value.code == "bad_request"
    assert "Unknown client" in caught.value.message


async def test_an_issuer_without_a_device_endpoint_is_refused_before_any_request(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    with pytest.raises(OAuthError) as caught:
        await authorize(http, OAuthClient("cli-1", TOKEN_ENDPOINT), now=NOW)
    assert caught.value.code == "bad_request"
    assert caught.value.fix is not None
    assert issuer.requests == []

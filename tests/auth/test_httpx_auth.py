"""`BrokerAuth`, the credential flow on every model request, driven by hand the way httpx's
own tests drive an auth flow (``flow.__anext__()``, then ``flow.asend(response)``), over a
stub broker: the bearer goes on, a 401 asks the broker past the rejected generation and is
retried exactly once, and nothing else is retried."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import httpx
import pytest

from clawgate.auth import Access, Broker, BrokerAuth, Credential, CredentialError, bearer
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret
from clawgate.vault import Kind

pytestmark = pytest.mark.anyio

PROFILE = "openai:me"
URL = "https://api.test/v1/chat/completions"


def credential(token: str | None, generation: int, how: str = "vault") -> Credential:
    return Credential(
        profile_id=PROFILE,
        provider="openai",
        kind=Kind.OAUTH if token is not None else Kind.NONE,
        token=Secret(token) if token is not None else None,
        generation=generation,
        expires_at=None,
        how=how,  # type: ignore[arg-type]
    )


FIRST = credential("at-first-0000000001", 7)
RENEWED = credential("at-renewed-00000002", 8, "refreshed")


class StubBroker:
    """Answers `credential` from a script and records each call's arguments."""

    def __init__(self, *answers: Credential | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int | None]] = []

    async def credential(
        self, profile_id: str, *, force_refresh_if_generation: int | None = None
    ) -> Credential:
        self.calls.append((profile_id, force_refresh_if_generation))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def auth_over(broker: StubBroker, **kwargs: Any) -> BrokerAuth:
    return BrokerAuth(cast(Broker, broker), PROFILE, **kwargs)


def request() -> httpx.Request:
    return httpx.Request("POST", URL, json={"model": "m"})


def answer(status: int, sent: httpx.Request) -> httpx.Response:
    return httpx.Response(status, request=sent)


Flow = AsyncGenerator[httpx.Request, httpx.Response]


async def first_request(
    broker: StubBroker, **kwargs: Any
) -> tuple[BrokerAuth, Flow, httpx.Request]:
    """A `BrokerAuth` over ``broker``, its flow for one `request()`, and the request the flow
    sends first."""
    auth = auth_over(broker, **kwargs)
    flow = auth.async_auth_flow(request())
    return auth, flow, await flow.__anext__()


async def test_the_first_request_carries_the_profiles_bearer() -> None:
    broker = StubBroker(FIRST)
    auth, _, sent = await first_request(broker)
    assert sent.headers["Authorization"] == "Bearer at-first-0000000001"
    assert broker.calls == [(PROFILE, None)]
    assert auth.used == [FIRST]


@pytest.mark.parametrize("status", [200, 400, 403, 429, 500, 503])
async def test_any_answer_but_401_ends_the_flow(status: int) -> None:
    broker = StubBroker(FIRST)
    auth, flow, sent = await first_request(broker)
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(status, sent))
    assert broker.calls == [(PROFILE, None)]  # never a renewal
    assert auth.used == [FIRST]


async def test_a_401_renews_past_the_rejected_generation_and_retries_once() -> None:
    broker = StubBroker(FIRST, RENEWED)
    auth, flow, sent = await first_request(broker)
    retried = await flow.asend(answer(401, sent))
    assert broker.calls == [(PROFILE, None), (PROFILE, FIRST.generation)]
    assert retried.headers["Authorization"] == "Bearer at-renewed-00000002"
    assert (retried.method, str(retried.url)) == ("POST", URL)
    assert retried.content == sent.content
    assert auth.used == [FIRST, RENEWED]
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(200, retried))


async def test_a_second_401_ends_the_flow_without_a_third_request() -> None:
    broker = StubBroker(FIRST, RENEWED)
    auth, flow, sent = await first_request(broker)
    retried = await flow.asend(answer(401, sent))
    with pytest.raises(StopAsyncIteration):
        await flow.asend(answer(401, retried))
    assert len(broker.calls) == 2  # no second renewal either
    assert auth.used == [FIRST, RENEWED]


async def test_the_renewal_asks_past_whatever_generation_was_sent() -> None:
    # The broker may have answered from another process's newer login: generation 41.
    adopted = credential("at-adopted-00000041", 41, "memory")
    broker = StubBroker(adopted, credential("at-renewed-00000042", 42, "refreshed"))
    _, flow, sent = await first_request(broker)
    await flow.asend(answer(401, sent))
    assert broker.calls[1] == (PROFILE, 41)


async def test_a_renewal_that_fails_raises_the_brokers_error_from_the_flow() -> None:
    dead = CredentialError(
        PROFILE, Failure(FailureClass.AUTH_DEAD, "the login is gone", code="invalid_grant")
    )
    broker = StubBroker(FIRST, dead)
    auth, flow, sent = await first_request(broker)
    with pytest.raises(CredentialError) as caught:
        await flow.asend(answer(401, sent))
    assert caught.value.code == "auth_dead"
    assert caught.value.profile_id == PROFILE
    assert auth.used == [FIRST]


async def test_a_custom_apply_places_the_credential_on_both_attempts() -> None:
    def api_key(sent: httpx.Request, used: Credential) -> None:
        assert used.token is not None
        sent.headers["x-api-key"] = used.token.reveal()

    _, flow, sent = await first_request(StubBroker(FIRST, RENEWED), apply=api_key)
    assert sent.headers["x-api-key"] == "at-first-0000000001"
    assert "authorization" not in sent.headers
    retried = await flow.asend(answer(401, sent))
    assert retried.headers["x-api-key"] == "at-renewed-00000002"


async def test_a_credential_without_a_token_adds_no_authorization_header() -> None:
    _, _, sent = await first_request(StubBroker(credential(None, 1)))
    assert "authorization" not in sent.headers


def test_bearer_replaces_an_authorization_header_already_there() -> None:
    sent = httpx.Request("GET", URL, headers={"Authorization": "Bearer stale"})
    bearer(sent, FIRST)
    assert sent.headers.get_list("authorization") == ["Bearer at-first-0000000001"]


class WatchedBody(httpx.AsyncByteStream):
    def __init__(self) -> None:
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        yield b'{"error": {"code": "token_expired"}}'


async def test_a_rejected_answer_is_not_read_before_the_retry() -> None:
    # The flow decides on the status alone and never reads the 401's body (streams pass
    # through unbuffered); httpx drains that body itself afterwards, to free the connection.
    rejected = WatchedBody()
    read_when_applied: list[bool] = []

    def watching_bearer(sent: httpx.Request, used: Credential) -> None:
        read_when_applied.append(rejected.read)
        bearer(sent, used)

    def model_api(sent: httpx.Request) -> httpx.Response:
        if sent.headers["authorization"] == "Bearer at-first-0000000001":
            return httpx.Response(401, stream=rejected)
        return httpx.Response(200, json={"ok": True})

    auth = auth_over(StubBroker(FIRST, RENEWED), apply=watching_bearer)
    async with httpx.AsyncClient(transport=httpx.MockTransport(model_api)) as client:
        response = await client.get(URL, auth=auth)
    assert response.status_code == 200
    assert read_when_applied == [False, False]


def test_the_sync_flow_refuses() -> None:
    auth = auth_over(StubBroker(FIRST))
    with pytest.raises(RuntimeError, match="async-only"):
        next(auth.sync_auth_flow(request()))


def test_a_sync_client_cannot_use_it() -> None:
    def never(sent: httpx.Request) -> httpx.Response:
        pytest.fail("a request went out through the sync flow")

    broker = StubBroker(FIRST)
    with (
        httpx.Client(transport=httpx.MockTransport(never)) as client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        client.get(URL, auth=auth_over(broker))
    assert broker.calls == []


async def test_through_a_client_the_retry_carries_the_new_bearer() -> None:
    seen: list[str] = []

    def model_api(sent: httpx.Request) -> httpx.Response:
        seen.append(sent.headers["authorization"])
        if sent.headers["authorization"] == "Bearer at-first-0000000001":
            return httpx.Response(401, json={"error": {"code": "token_expired"}})
        return httpx.Response(200, json={"ok": True})

    broker = StubBroker(FIRST, RENEWED)
    auth = auth_over(broker)
    async with httpx.AsyncClient(transport=httpx.MockTransport(model_api), auth=auth) as client:
        response = await client.post(URL, json={"model": "m"})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert seen == ["Bearer at-first-0000000001", "Bearer at-renewed-00000002"]
    assert broker.calls == [(PROFILE, None), (PROFILE, 7)]
    assert [c.how for c in auth.used] == ["vault", "refreshed"]


async def test_through_a_client_a_second_401_is_the_answer() -> None:
    seen: list[str] = []

    def refuse(sent: httpx.Request) -> httpx.Response:
        seen.append(sent.headers["authorization"])
        return httpx.Response(401, json={"error": {"code": "token_expired"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        response = await client.get(URL, auth=auth_over(StubBroker(FIRST, RENEWED)))
    assert response.status_code == 401
    assert seen == ["Bearer at-first-0000000001", "Bearer at-renewed-00000002"]


async def test_access_reaches_the_credential_only_through_the_broker() -> None:
    broker = StubBroker(FIRST, RENEWED)
    access = Access(cast(Broker, broker), PROFILE)
    assert await access.credential() == FIRST

    def api_key(sent: httpx.Request, used: Credential) -> None:
        sent.headers["x-api-key"] = "k"

    auth = access.auth(api_key)
    assert isinstance(auth, BrokerAuth)
    assert (auth.broker, auth.profile_id, auth.apply) == (broker, PROFILE, api_key)
    assert access.auth().apply is bearer
    assert broker.calls == [(PROFILE, None)]

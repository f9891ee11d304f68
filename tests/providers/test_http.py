"""`HttpTransport` and `Exchange` on their own: what a refusal hands the classifier (status,
headers, raw body, the injected clock's now), what the 2xx answer's readers do with bodies and
event streams (a 200 that is not a stream, one bad event among good ones, a stream cut short),
and the headers on the wire. Most answers are played by `httpx.MockTransport` behind the
transport's ``client``; one test crosses a real loopback socket to the fake model API."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from clawgate import __version__
from clawgate.clock import ManualClock
from clawgate.config import Timeouts
from clawgate.errorbody import ErrorBody
from clawgate.errors import Failed
from clawgate.providers import Classifier
from clawgate.providers._http import DONE, Exchange, HttpTransport
from tests.fakes.model_api import FakeModelAPI, chat_frames, sse, stream

pytestmark = pytest.mark.anyio

NOW = 1_900_000_000.0
URL = "https://api.test/v1/chat/completions"
TIMEOUTS = Timeouts(connect=2, first_token=5, idle=5, total=20)
SSE_TYPE = {"content-type": "text/event-stream; charset=utf-8"}

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class SpyClassifier(Classifier):
    """The real classifier, recording what the transport hands it."""

    responses: list[tuple[int, dict[str, str], bytes, float]] = field(default_factory=list)
    exceptions: list[tuple[type[Exception], bool]] = field(default_factory=list)

    def response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> Failed:
        self.responses.append((status, dict(headers), body, now))
        return super().response(status, headers, body, now=now)

    def exception(self, exc: httpx.TransportError, *, answered: bool) -> Failed:
        self.exceptions.append((type(exc), answered))
        return super().exception(exc, answered=answered)


class MockedTransport(HttpTransport):
    """The transport under test, its HTTP client answering through `httpx.MockTransport`."""

    def __init__(self, handler: Handler, clock: ManualClock) -> None:
        super().__init__(SpyClassifier("openai", "log in again"), TIMEOUTS, clock=clock)
        self.spy: SpyClassifier = self.classifier  # type: ignore[assignment]
        self.mock = httpx.AsyncClient(transport=httpx.MockTransport(handler))

    @property
    def client(self) -> httpx.AsyncClient:
        return self.mock


class Played:
    """What the mock server answers, and every request it saw."""

    def __init__(self) -> None:
        self.reply: Handler | None = None
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.reply is not None, "the test sent a request before scripting an answer"
        return self.reply(request)

    def answer(self, response: httpx.Response | Exception) -> None:
        def reply(_: httpx.Request) -> httpx.Response:
            if isinstance(response, Exception):
                raise response
            return response

        self.reply = reply

    def events(self, *frames: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Answer with a 200 event stream whose body is ``frames``, one after another."""
        content = b"".join(frames)
        self.answer(httpx.Response(200, headers={**SSE_TYPE, **(headers or {})}, content=content))


class Body(httpx.AsyncByteStream):
    """A body sent in the given chunks, that may break off with a transport error, and that
    knows whether it was closed."""

    def __init__(self, *chunks: bytes, error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=NOW)


@pytest.fixture
def played() -> Played:
    return Played()


@pytest.fixture
async def transport(played: Played, clock: ManualClock) -> AsyncIterator[MockedTransport]:
    mocked = MockedTransport(played, clock)
    async with mocked.mock:
        yield mocked


async def refusal(transport: HttpTransport) -> Failed:
    with pytest.raises(Failed) as caught:
        async with transport.exchange("POST", URL, json_body={"model": "m"}):
            pytest.fail("a refused request must not yield an exchange")
    return caught.value


async def read_events(transport: HttpTransport) -> tuple[list[dict[str, Any]], Exchange]:
    async with transport.exchange("POST", URL, json_body={"stream": True}) as exchange:
        return [event async for event in exchange.events()], exchange


async def broken_events(transport: HttpTransport) -> tuple[list[dict[str, Any]], Failed]:
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        async with transport.exchange("POST", URL, json_body={"stream": True}) as exchange:
            async for event in exchange.events():
                events.append(event)

    with pytest.raises(Failed) as caught:
        await consume()
    return events, caught.value


# -- refusals: a non-2xx answer goes to the classifier --------------------------------------------


async def test_a_refusal_hands_status_headers_raw_body_and_now_to_the_classifier(
    transport: MockedTransport, played: Played
) -> None:
    body = {"error": {"code": "rate_limit_exceeded", "message": "Slow down."}}
    raw = json.dumps(body).encode()
    played.answer(
        httpx.Response(429, content=raw, headers={"retry-after": "7", "x-request-id": "req_9"})
    )
    error = await refusal(transport)
    ((status, headers, seen_body, now),) = transport.spy.responses
    assert (status, seen_body, now) == (429, raw, NOW)
    assert headers["retry-after"] == "7"
    assert error.code == "rate_limit"
    assert error.failure.status == 429
    assert error.failure.retry_after == 7.0
    assert error.failure.request_id == "req_9"
    assert "Slow down." in error.message


async def test_a_reset_in_the_refusal_counts_from_the_injected_clock(
    transport: MockedTransport, played: Played, clock: ManualClock
) -> None:
    clock.advance(100)
    body = {"error": {"type": "usage_limit_reached", "resets_in_seconds": 600}}
    played.answer(httpx.Response(429, json=body))
    error = await refusal(transport)
    assert error.code == "quota"
    assert error.failure.resets_at == NOW + 100 + 600


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "auth_dead"), (402, "billing"), (404, "model_not_found"), (503, "overloaded")],
)
async def test_without_a_code_the_status_classifies_the_refusal(
    transport: MockedTransport, played: Played, status: int, expected: str
) -> None:
    played.answer(httpx.Response(status, text="<html>nope</html>"))
    assert (await refusal(transport)).code == expected


async def test_an_error_body_that_breaks_off_is_classified_by_status_alone(
    transport: MockedTransport, played: Played
) -> None:
    # The body would have said rate_limit_exceeded, had it arrived whole.
    cut = Body(b'{"error": {"code": "rate_limit_exceeded"', error=httpx.ReadError("reset"))
    played.answer(httpx.Response(500, stream=cut))
    error = await refusal(transport)
    assert transport.spy.responses[0][2] == b""
    assert error.code == "server_error"
    assert cut.closed


async def test_a_refused_answer_is_closed(transport: MockedTransport, played: Played) -> None:
    body = Body(b'{"error": {"code": "model_not_found"}}')
    played.answer(httpx.Response(404, stream=body))
    assert (await refusal(transport)).code == "model_not_found"
    assert body.closed


@pytest.mark.parametrize(
    ("exc", "expected"),
    [(httpx.ConnectError("refused"), "network"), (httpx.ConnectTimeout("slow"), "timeout")],
)
async def test_no_answer_is_classified_as_not_answered(
    transport: MockedTransport, played: Played, exc: Exception, expected: str
) -> None:
    played.answer(exc)
    error = await refusal(transport)
    assert transport.spy.exceptions == [(type(exc), False)]
    assert transport.spy.responses == []
    assert error.code == expected


# -- the request --------------------------------------------------------------------------------


async def test_the_request_carries_the_json_body_the_headers_and_the_auth(
    transport: MockedTransport, played: Played
) -> None:
    class Stamp(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Any:
            request.headers["Authorization"] = "Bearer from-auth"
            yield request

    played.answer(httpx.Response(200, json={"ok": True}))
    async with transport.exchange(
        "POST",
        URL,
        json_body={"model": "m", "stream": False},
        headers={"OpenAI-Beta": "responses=v1"},
        auth=Stamp(),
    ) as exchange:
        assert await exchange.json() == {"ok": True}
    (sent,) = played.requests
    assert (sent.method, str(sent.url)) == ("POST", URL)
    assert json.loads(sent.content) == {"model": "m", "stream": False}
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["openai-beta"] == "responses=v1"
    assert sent.headers["authorization"] == "Bearer from-auth"


async def test_the_transports_own_client_names_clawgate_and_leaves_reads_unbounded() -> None:
    transport = HttpTransport(Classifier("openai", "x"), TIMEOUTS)
    client = transport.client
    try:
        assert client is transport.client  # made once
        assert client.headers["user-agent"] == f"clawgate/{__version__}"
        # Reads are bounded by the transport's deadlines (first token, idle, total), not httpx.
        assert client.timeout == httpx.Timeout(connect=2, read=None, write=2, pool=2)
    finally:
        await transport.aclose()
    assert client.is_closed
    replacement = transport.client  # a closed transport makes a new client when used again
    assert replacement is not client
    await transport.aclose()


async def test_on_the_wire_to_the_fake_model_api(api: FakeModelAPI) -> None:
    api.script(stream(chat_frames(("Hi",)).all(), x_request_id="req_wire"))
    transport = HttpTransport(Classifier("openai", "x"), TIMEOUTS)
    try:
        async with transport.exchange(
            "POST",
            f"{api.url}/v1/chat/completions",
            json_body={"model": "m", "stream": True},
            headers={"X-Extra": "1"},
        ) as exchange:
            events = [e async for e in exchange.events()]
            assert exchange.request_id == "req_wire"
    finally:
        await transport.aclose()
    seen = api.seen[-1]
    assert seen.headers["user-agent"] == f"clawgate/{__version__}"
    assert seen.headers["x-extra"] == "1"
    assert seen.body == {"model": "m", "stream": True}
    assert events[-1] is DONE
    deltas = [e["choices"][0]["delta"].get("content") for e in events[:-1] if e["choices"]]
    assert "Hi" in deltas


# -- a 2xx JSON answer ---------------------------------------------------------------------------


async def test_json_returns_the_object(transport: MockedTransport, played: Played) -> None:
    played.answer(httpx.Response(200, stream=Body(b'{"id": "chatcmpl-1", ', b'"choices": []}')))
    async with transport.exchange("POST", URL) as exchange:
        assert await exchange.json() == {"id": "chatcmpl-1", "choices": []}


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"<html>captive portal</html>", b""])
async def test_a_2xx_body_that_is_not_a_json_object_is_a_broken_answer(
    transport: MockedTransport, played: Played, raw: bytes
) -> None:
    played.answer(httpx.Response(200, content=raw, headers={"x-request-id": "req_j"}))
    with pytest.raises(Failed) as caught:
        async with transport.exchange("POST", URL) as exchange:
            await exchange.json()
    assert caught.value.code == "stream_broken"
    assert "not a JSON object" in caught.value.message
    assert caught.value.failure.request_id == "req_j"


async def test_a_json_body_cut_off_is_a_broken_answer_with_its_request_id(
    transport: MockedTransport, played: Played
) -> None:
    cut = Body(b'{"id": "chatc', error=httpx.RemoteProtocolError("incomplete"))
    played.answer(httpx.Response(200, stream=cut, headers={"x-request-id": "req_c"}))
    with pytest.raises(Failed) as caught:
        async with transport.exchange("POST", URL) as exchange:
            await exchange.json()
    assert caught.value.code == "stream_broken"
    assert caught.value.failure.request_id == "req_c"
    assert transport.spy.exceptions == [(httpx.RemoteProtocolError, True)]


# -- a 2xx event stream ----------------------------------------------------------------------------


async def test_events_are_decoded_with_their_event_name_as_type(
    transport: MockedTransport, played: Played
) -> None:
    played.events(
        sse({"delta": "a"}, "content_block_delta"),  # named, no type of its own
        sse({"type": "response.created", "n": 1}, "something_else"),  # own wins
        sse({"delta": "b"}),  # unnamed: SSE's default event type
    )
    events, exchange = await read_events(transport)
    assert events == [
        {"delta": "a", "type": "content_block_delta"},
        {"type": "response.created", "n": 1},
        {"delta": "b", "type": "message"},
    ]
    assert exchange.skipped == 0


async def test_done_is_its_own_marker_and_the_stream_goes_on_after_it(
    transport: MockedTransport, played: Played
) -> None:
    played.events(sse({"n": 1}), b"data:  [DONE] \n\n", sse({"n": 2}))
    events, _ = await read_events(transport)
    assert [e.get("n") for e in events] == [1, None, 2]
    assert events[1] is DONE


async def test_comments_and_keepalives_are_not_events(
    transport: MockedTransport, played: Played
) -> None:
    played.events(b": keep-alive\n\n", b"event: ping\n\n", b"data:\n\n", sse({"n": 1}))
    events, exchange = await read_events(transport)
    assert events == [{"n": 1, "type": "message"}]
    assert exchange.skipped == 0


async def test_one_event_that_is_not_json_is_skipped_and_logged(
    transport: MockedTransport, played: Played, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="clawgate.providers")
    secretish = b'{"choices": [{"delta": {"content": "unterminated'
    played.events(
        sse({"n": 1}),
        b"data: " + secretish + b"\n\n",
        sse({"n": 2}),
        headers={"x-request-id": "req_m"},
    )
    events, exchange = await read_events(transport)
    assert [e["n"] for e in events] == [1, 2]
    assert exchange.skipped == 1
    (record,) = [r for r in caplog.records if r.name == "clawgate.providers"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "skipped a malformed stream event" in message
    assert "provider=openai" in message
    assert "event=message" in message
    assert f"bytes={len(secretish)}" in message
    assert "request_id=req_m" in message
    assert "unterminated" not in message  # the event's content is never logged


@pytest.mark.parametrize("data", [b"[1, 2]", b'"just a string"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_skipped_too(
    transport: MockedTransport, played: Played, data: bytes
) -> None:
    played.events(b"data: " + data + b"\n\n", sse({"n": 1}))
    events, exchange = await read_events(transport)
    assert events == [{"n": 1, "type": "message"}]
    assert exchange.skipped == 1


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"content-type": "application/json"}, "application/json"),
        ({"content-type": "text/html; charset=utf-8"}, "text/html"),
        ({}, "no content type"),
    ],
)
async def test_a_200_that_is_not_an_event_stream_is_broken(
    transport: MockedTransport, played: Played, headers: dict[str, str], named: str
) -> None:
    played.answer(
        httpx.Response(
            200, content=b'{"choices": []}', headers={**headers, "x-request-id": "req_h"}
        )
    )
    events, error = await broken_events(transport)
    assert events == []
    assert error.code == "stream_broken"
    assert named in error.message
    assert "not an event stream" in error.message
    assert error.failure.request_id == "req_h"
    assert transport.spy.exceptions == []  # not a transport failure


async def test_a_stream_cut_short_is_broken_after_the_events_before_it(
    transport: MockedTransport, played: Played
) -> None:
    body = Body(sse({"n": 1}), sse({"n": 2}), error=httpx.ReadError("connection reset"))
    played.answer(httpx.Response(200, headers={**SSE_TYPE, "x-request-id": "req_cut"}, stream=body))
    events, error = await broken_events(transport)
    assert [e["n"] for e in events] == [1, 2]
    assert error.code == "stream_broken"
    assert "ReadError" in error.message
    assert error.failure.request_id == "req_cut"
    assert transport.spy.exceptions == [(httpx.ReadError, True)]
    assert body.closed


async def test_a_caller_that_stops_reading_early_leaves_the_answer_closed(
    transport: MockedTransport, played: Played
) -> None:
    body = Body(sse({"n": 1}), sse({"n": 2}), sse({"n": 3}))
    played.answer(httpx.Response(200, headers=SSE_TYPE, stream=body))
    async with transport.exchange("POST", URL) as exchange:
        events = exchange.events()
        assert (await anext(events))["n"] == 1
        assert not body.closed
        await events.aclose()
    assert body.closed


async def test_an_error_inside_a_2xx_is_classified_with_the_answers_request_id(
    transport: MockedTransport, played: Played
) -> None:
    played.answer(httpx.Response(200, headers={**SSE_TYPE, "request-id": "req_in"}))
    async with transport.exchange("POST", URL) as exchange:
        failed = exchange.failed(ErrorBody(code="server_is_overloaded", message="busy"))
    assert failed.code == "overloaded"
    assert failed.failure.status is None
    assert failed.failure.request_id == "req_in"
    assert "busy" in failed.message

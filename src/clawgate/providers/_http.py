"""One provider's HTTP: its client, its deadlines, credentials from the broker, and every
way a call can fail turned into a `Failed` with its `Failure`.

A call is `HttpTransport.exchange` (send, refuse non-2xx with the classified error) and then
either `Exchange.json` or `Exchange.events` (server-sent events, decoded; a single event that
is not JSON is skipped and logged, docs/routing.md "Streaming").
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from clawgate import __version__
from clawgate.clock import Clock, SystemClock
from clawgate.config import Timeouts
from clawgate.errorbody import ErrorBody
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import _pool
from clawgate.providers._classify import Classifier, request_id_of
from clawgate.providers._deadlines import Deadlines

__all__ = ["DONE", "Exchange", "HttpTransport"]

log = logging.getLogger("clawgate.providers")

# The Chat Completions end marker, ``data: [DONE]``, as an event of its own.
DONE: dict[str, Any] = {"type": "[DONE]"}

# httpx's defaults keep 20 idle connections of at most 100 open: past 20 calls at once, every
# answer closed a connection and the next call paid a new TCP (and TLS) handshake; past 100,
# calls queued for a connection until the pool timeout failed them as 504s (bench/streams.py:
# 900 of 1,000 streams held at once). No cap: the turns in flight bound the connections; keep
# up to 100 of them idle.
UPSTREAM_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100)


class HttpTransport:
    def __init__(
        self, classifier: Classifier, timeouts: Timeouts, *, clock: Clock | None = None
    ) -> None:
        self.classifier = classifier
        self.timeouts = timeouts
        self.clock = clock or SystemClock()
        self._client: httpx.AsyncClient | None = None

    @property
    def provider(self) -> str:
        return self.classifier.provider

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            connect = self.timeouts.connect
            self._client = httpx.AsyncClient(
                # No read limit here: Deadlines bounds each read by first token / idle / total.
                timeout=httpx.Timeout(connect=connect, read=None, write=connect, pool=connect),
                headers={"User-Agent": f"clawgate/{__version__}"},
                transport=_pool.transport(UPSTREAM_LIMITS),  # its own pool and sockets (_pool)
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @contextlib.asynccontextmanager
    async def exchange(
        self,
        method: str,
        url: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> AsyncIterator[Exchange]:
        deadlines = Deadlines(self.timeouts, provider=self.provider)
        request = self.client.build_request(method, url, json=json_body, headers=headers)
        try:
            response = await deadlines.wait(
                self.client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True)
            )
        except httpx.TransportError as exc:
            raise self.classifier.exception(exc, answered=False) from None
        try:
            if not response.is_success:
                try:
                    body = await deadlines.wait(response.aread())
                except httpx.TransportError:
                    body = b""
                raise self.classifier.response(
                    response.status_code, response.headers, body, now=self.clock.now()
                )
            yield Exchange(response, deadlines, self.classifier, self.clock)
        finally:
            await response.aclose()


class Exchange:
    """A 2xx answer being read."""

    def __init__(
        self,
        response: httpx.Response,
        deadlines: Deadlines,
        classifier: Classifier,
        clock: Clock,
    ) -> None:
        self.response = response
        self.deadlines = deadlines
        self.classifier = classifier
        self.clock = clock
        self.skipped = 0  # malformed events skipped

    def failed(self, error: ErrorBody) -> Failed:
        """An error the provider sent inside this 2xx answer."""
        return self.classifier.stream_error(error, now=self.clock.now(), request_id=self.request_id)

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.response.headers)

    def _broken(self, exc: httpx.TransportError) -> Failed:
        error = self.classifier.exception(exc, answered=True)
        return Failed(replace(error.failure, request_id=self.request_id))

    async def json(self) -> dict[str, Any]:
        try:
            raw = await self.deadlines.wait(self.response.aread())
        except httpx.TransportError as exc:
            raise self._broken(exc) from None
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise Failed(
                Failure(
                    FailureClass.STREAM_BROKEN,
                    f"{self.classifier.provider} answered {self.response.status_code} with a body "
                    "that is not a JSON object",
                    request_id=self.request_id,
                )
            )
        return document

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        """Each event's JSON data, with its SSE event name under ``"type"`` when the data has
        no ``type`` of its own; `DONE` for ``data: [DONE]``."""
        source = EventSource(self.response).aiter_sse()
        while True:
            try:
                sse = await self.deadlines.wait(anext(source))
            except StopAsyncIteration:
                return
            except SSEError:
                kind = self.response.headers.get("content-type", "no content type")
                raise Failed(
                    Failure(
                        FailureClass.STREAM_BROKEN,
                        f"{self.classifier.provider} answered with {kind}, not an event stream",
                        request_id=self.request_id,
                    )
                ) from None
            except httpx.TransportError as exc:
                raise self._broken(exc) from None
            if not sse.data:
                continue  # comments and keep-alives
            if sse.data.strip() == "[DONE]":
                yield DONE
                continue
            try:
                data = json.loads(sse.data)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                self.skipped += 1
                log.warning(
                    "skipped a malformed stream event provider=%s event=%s bytes=%d request_id=%s",
                    self.classifier.provider,
                    sse.event,
                    len(sse.data),
                    self.request_id,
                )
                continue
            data.setdefault("type", sse.event)
            yield data

"""The gateway's app served by a real uvicorn on 127.0.0.1, in the test's own event loop, as
`clawgate gateway run` serves it (`_serve.server_config`: uvicorn's h11 protocol with the
slow-client deadlines), for tests of what clients do to a connection: hang up, crawl.

`Served.ended` yields each request's path once the app is done with it (its call returned or
raised), so a test can wait for a cancelled request to have unwound: an event, not a sleep;
`Served.errors` keeps what uvicorn logged as an error (an exception that escaped the app).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import uvicorn
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.config import Settings
from clawgate.gateway._serve import server_config

__all__ = ["Served", "served"]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Served:
    host: str
    port: int
    ended: MemoryObjectReceiveStream[str]
    errors: list[logging.LogRecord]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def connect(self) -> anyio.abc.SocketStream:
        return await anyio.connect_tcp(self.host, self.port)


class _Watched:
    def __init__(self, app: ASGIApp, ended: MemoryObjectSendStream[str]) -> None:
        self.app = app
        self.ended = ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.ended.send_nowait(scope["path"])


@contextlib.asynccontextmanager
async def served(app: ASGIApp, settings: Settings) -> AsyncIterator[Served]:
    # Bound and listening before uvicorn starts: a client may connect at once.
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = listener.getsockname()[:2]
    send, ended = anyio.create_memory_object_stream[str](64)
    server = uvicorn.Server(server_config(_Watched(app, send), settings))
    errors = _Errors()
    uvicorn_errors = logging.getLogger("uvicorn.error")  # configured when the Config is made
    uvicorn_errors.addHandler(errors)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: server.serve(sockets=[listener]))
            try:
                yield Served(host, port, ended, errors.records)
            finally:
                server.should_exit = True
    finally:
        uvicorn_errors.removeHandler(errors)
        listener.close()
        send.close()
        ended.close()

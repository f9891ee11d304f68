"""A client that hangs up cancels its request.

Starlette runs an endpoint to its end whether anyone still waits for the answer or not; only
a `StreamingResponse` listens for ``http.disconnect``. So a non-streamed turn whose caller
left kept its upstream request open until the model answered, and paid for it. `HangUp`
listens on the caller's behalf: once the request body has been read, the server's next
message can only be ``http.disconnect`` (ASGI HTTP spec, "Disconnected Client"), and when it
comes the request is cancelled, before its answer or in the middle of a streamed one. The
cancellation unwinds the turn: its upstream request is closed on the way out and the turn is
recorded as ``client_gone`` (`routing.Router.route`, `runtime.Runtime.stream`); nothing more
is sent, since no one is there to read it.

After the body, ``receive`` belongs to the listener; the app's own later calls
(`Request.is_disconnected`) wait for what the listener heard. Being the one listener, it
spares a streamed answer Starlette's own (a task group and a task per stream, on the way to
the first token: `_stream.LeasedStream`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HangUp"]

log = logging.getLogger("clawgate.gateway")


class HangUp:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Call(scope, receive, send).run(self.app)


class _Call:
    """One request: its server's ``receive`` and ``send``, and what was heard and said."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.gone = asyncio.Event()
        self.request = anyio.CancelScope()
        # Started once the body is read (a plain task, not a task group: this is on the
        # way of every request, bench/overhead.py).
        self._listener: asyncio.Task[None] | None = None
        self.answered = False  # the answer's last message went out

    async def run(self, app: ASGIApp) -> None:
        try:
            with self.request:
                await app(self.scope, self.receive, self.send)
        finally:
            if self._listener is not None:
                self._listener.cancel()

    async def receive(self) -> Message:
        if self._listener is not None:
            await self.gone.wait()
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone.set()
        elif not message.get("more_body", False):
            self._listener = asyncio.get_running_loop().create_task(self.listen())
        return message

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.answered = True
        await self._send(message)

    async def listen(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.gone.set()
        if self.answered:
            return  # the server says "disconnect" once the answer is complete, too
        # %r: a path may hold a newline.
        log.debug("client went away: %s %r cancelled", self.scope["method"], self.scope["path"])
        self.request.cancel()

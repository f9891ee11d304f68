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

import logging

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
        self.body_read = anyio.Event()
        self.gone = anyio.Event()
        self.request = anyio.CancelScope()

    async def run(self, app: ASGIApp) -> None:
        # The app's own exception is held and raised outside the task group, which would
        # otherwise wrap it in an exception group.
        failure: Exception | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self.listen)
            with self.request:
                try:
                    await app(self.scope, self.receive, self._send)
                except Exception as exc:
                    failure = exc
            tasks.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def receive(self) -> Message:
        if self.body_read.is_set():
            await self.gone.wait()
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone.set()
        elif not message.get("more_body", False):
            self.body_read.set()
        return message

    async def listen(self) -> None:
        await self.body_read.wait()
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.gone.set()
        # %r: a path may hold a newline.
        log.debug("client went away: %s %r cancelled", self.scope["method"], self.scope["path"])
        self.request.cancel()

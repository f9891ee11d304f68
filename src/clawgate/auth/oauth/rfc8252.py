"""The loopback redirect of native apps (RFC 8252 §7.3): a one-shot HTTP listener on
127.0.0.1 that waits for the browser to bring back the authorization response.

It answers with a small page and ``Connection: close``, checks ``state`` and ``iss`` before
anything else, and ignores answers that are not ours (a stale tab, a probe) while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
from collections.abc import Sequence
from urllib.parse import urlsplit

import h11

from clawgate.auth.oauth._errors import OAuthError
from clawgate.auth.oauth.rfc6749 import Callback
from clawgate.failures import Failure, FailureClass

_PAGE = """<!doctype html><meta charset="utf-8"><title>clawgate</title>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body>"""


class LoopbackListener:
    """``async with LoopbackListener(...) as listener: code = await listener.code()``"""

    def __init__(
        self,
        *,
        state: str,
        issuer: str | None,
        path: str = "/callback",
        ports: Sequence[int] = (0,),
        redirect_host: str = "127.0.0.1",
    ) -> None:
        self.state = state
        self.issuer = issuer
        self.path = path
        self.ports = ports
        self.redirect_host = redirect_host
        self.port = 0
        self._server: asyncio.Server | None = None
        self._answer: asyncio.Future[str] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.redirect_host}:{self.port}{self.path}"

    async def __aenter__(self) -> LoopbackListener:
        self._answer = asyncio.get_running_loop().create_future()
        for port in self.ports:
            try:
                # §8.3: bind the loopback interface only, never 0.0.0.0.
                self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self.port = self._server.sockets[0].getsockname()[1]
            return self
        taken = ", ".join(str(p) for p in self.ports)
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                f"the login callback port is taken ({taken}): another login may be running",
                fix="finish or stop the other login, or use --device-code or --no-browser",
            )
        )

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def code(self) -> str:
        """The authorization code from the first answer that is ours."""
        assert self._answer is not None, "use LoopbackListener as an async context manager"
        return await asyncio.shield(self._answer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            connection = h11.Connection(h11.SERVER)
            target = await _read_request_target(connection, reader)
            if target is None:
                return
            status, title, text = self._handle(target)
            page = _PAGE.format(title=title, text=html.escape(text))
            _respond(connection, writer, status, page)
            await writer.drain()
        except (ConnectionError, h11.ProtocolError):
            pass
        finally:
            writer.close()

    def _handle(self, target: str) -> tuple[int, str, str]:
        parts = urlsplit(target)
        answer = self._answer
        if parts.path != self.path or answer is None or answer.done():
            return 404, "Not found", "This address only takes one login answer."
        try:
            code = Callback.from_query(parts.query).accept(state=self.state, issuer=self.issuer)
        except OAuthError as exc:
            if exc.failure.kind is FailureClass.BAD_REQUEST:
                # Not our login's answer: say so, and keep waiting for the real one.
                return 400, "Not this login", exc.message
            answer.set_exception(exc)
            return 200, "Login failed", exc.message
        answer.set_result(code)
        return 200, "Logged in", "clawgate has the login. You can close this window."


async def _read_request_target(
    connection: h11.Connection, reader: asyncio.StreamReader
) -> str | None:
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(16384))
            continue
        if isinstance(event, h11.Request):
            if event.method != b"GET":
                return None
            return event.target.decode("ascii", "replace")
        return None


def _respond(
    connection: h11.Connection, writer: asyncio.StreamWriter, status: int, page: str
) -> None:
    body = page.encode()
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("Cache-Control", "no-store"),
    ]
    writer.write(connection.send(h11.Response(status_code=status, headers=headers)) or b"")
    writer.write(connection.send(h11.Data(data=body)) or b"")
    writer.write(connection.send(h11.EndOfMessage()) or b"")

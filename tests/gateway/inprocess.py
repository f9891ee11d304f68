"""A gateway in this process: its `Gateway` state and Starlette app on a temporary state
directory whose models are paths on the fake upstream (the config of `running.config`).

`Local.client` sends through httpx's ASGI transport (whole responses); `SlowReader` drives one
exchange by hand, for a client that stops reading after the first chunk, or goes away."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette

from clawgate.config import Paths
from clawgate.gateway import Gateway, create_app
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import Vault
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import config

__all__ = ["TOKEN", "Local", "SlowReader", "local_gateway", "sse_events", "streamed_text"]

TOKEN = "cg-test-token"


@dataclass
class Local:
    gateway: Gateway
    app: Starlette
    client: httpx.AsyncClient  # sends the bearer token
    state: Path

    def write_config(self, document: dict[str, Any] | str) -> None:
        text = document if isinstance(document, str) else json.dumps(document)
        (self.state / "clawgate.json").write_text(text)


def _write_config(state: Path, document: dict[str, Any]) -> None:
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    (state / "clawgate.json").write_text(json.dumps(document))


@contextlib.asynccontextmanager
async def local_gateway(
    state: Path, api: FakeModelAPI, document: dict[str, Any] | None = None
) -> AsyncIterator[Local]:
    _write_config(state, document or config(api.url))
    env = {"CLAWGATE_STATE_DIR": str(state)}
    paths = Paths.from_env(env)
    db = State.open(paths.state_db)
    gateway = Gateway(
        paths,
        env,
        token=Secret(TOKEN),
        state=db,
        vault=Vault.open(paths.state_dir, env),
        bind="127.0.0.1",
        port=0,
    )
    app = create_app(gateway)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    try:
        yield Local(gateway, app, client, state)
    finally:
        await client.aclose()
        await gateway.aclose()
        db.close()


class SlowReader:
    """One POST through the app by hand. The first body chunk is taken, then the client waits
    until `read_on` (it reads the rest) or `disconnect` (it goes away: an ASGI 2.0 server says
    so through ``receive``, a 2.4 one by failing the next ``send`` with an `OSError`)."""

    def __init__(self, app: Starlette, path: str, body: object, *, spec: str = "2.0") -> None:
        self.app = app
        self.path = path
        self.body = json.dumps(body).encode()
        self.spec = spec
        self.status: int | None = None
        self.chunks: list[bytes] = []
        self.error: Exception | None = None  # what the app raised
        self.first_chunk = anyio.Event()
        self.done = anyio.Event()
        self._read_on = anyio.Event()
        self._gone = anyio.Event()
        self._sent_body = False

    def read_on(self) -> None:
        self._read_on.set()

    def disconnect(self) -> None:
        self._gone.set()
        if self.spec == "2.4":
            self._read_on.set()  # the blocked send wakes, and fails

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode()

    async def run(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": self.spec},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"authorization", f"Bearer {TOKEN}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self.body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway", 80),
        }
        try:
            await self.app(scope, self._receive, self._send)
        except Exception as exc:
            self.error = exc
        finally:
            self.done.set()

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_body:
            self._sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            if self._gone.is_set():
                raise OSError("the client went away")
            self.chunks.append(message.get("body", b""))
            if not self.first_chunk.is_set():
                self.first_chunk.set()
                await self._read_on.wait()


def sse_events(text: str) -> list[Any]:
    """The ``data:`` of each server-sent event: a JSON document, or the string ``[DONE]``."""
    events: list[Any] = []
    for block in text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def streamed_text(events: list[Any]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for event in events
        if isinstance(event, dict)
        for choice in event.get("choices", [])
    )

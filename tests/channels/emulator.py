"""The Bot API emulator (tests/servers/tg-test-server.cjs, on npm telegram-test-api) on a free
loopback port, started per test module and stopped by its own PID; and the test's side of it:
people writing to the bot, what the bot sent to each chat, scripted faults."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import selectors
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from tests.oidc_server import SERVERS
from tests.processes import stop

__all__ = ["Emulator", "emulator", "wait_for"]

T = TypeVar("T")
READY_WITHIN = 30.0
_tokens = itertools.count(1)


def wait_for(probe: Callable[[], T | None], *, within: float = 20.0, what: str = "it") -> T:
    """``probe()``'s first true answer: the other processes work in their own time."""
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:.0f} s for {what}")
        time.sleep(0.05)


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def new_token(self) -> str:
        """A bot token of BotFather's shape, new for each test (the emulator keys by it)."""
        n = next(_tokens)
        return f"{700000 + n}:AAH{n:04d}" + "x" * 32

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        answer = httpx.post(f"{self.url}{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json().get("result")

    def says(
        self,
        token: str,
        user: int,
        text: str,
        *,
        chat: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> None:
        """User ``user`` writes ``text`` in a chat (their private chat with the bot unless
        ``chat`` is a group's id)."""
        chat_id = user if chat is None else chat
        message = {
            "botToken": token,
            "date": int(time.time()),
            "text": text,
            "from": {"id": user, "is_bot": False, "first_name": f"User{user}"},
            "chat": {"id": chat_id, "type": chat_type},
            **extra,
        }
        self._post("/sendMessage", message)

    def raw_update(self, token: str, body: dict[str, Any]) -> None:
        self._post("/sendMessage", {"botToken": token, **body})

    def chat(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to the chat: ``text`` (as sent), ``shown`` (what a
        person sees), ``parse_mode``, ``edits`` (earlier versions), ``deleted``."""
        found: list[dict[str, Any]] = self._post(
            "/__test/chat", {"token": token, "chatId": chat_id}
        )
        return found

    def shown(self, token: str, chat_id: int) -> list[str]:
        return [m["shown"] for m in self.chat(token, chat_id) if not m["deleted"]]

    def calls(self, token: str) -> dict[str, list[int]]:
        found: dict[str, list[int]] = self._post("/__test/calls", {"token": token})
        return found

    def webhook(self, token: str) -> dict[str, Any]:
        """The webhook set for ``token`` (url, whether it has a secret) and its deliveries."""
        found: dict[str, Any] = self._post("/__test/webhook", {"token": token})
        return found

    def fault(self, token: str, method: str, kind: str, *, count: int = 1, **extra: Any) -> None:
        self._post(
            "/__test/fault",
            {"token": token, "method": method, "kind": kind, "count": count, **extra},
        )

    def add_file(self, token: str, file_id: str, data: bytes, path: str) -> None:
        self._post(
            "/__test/file",
            {
                "token": token,
                "fileId": file_id,
                "base64": base64.b64encode(data).decode(),
                "path": path,
            },
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def emulator() -> Iterator[Emulator]:
    for _attempt in (1, 2):  # a port taken between the probe and node's bind: once more
        process = subprocess.Popen(
            ["node", str(SERVERS / "tg-test-server.cjs")],
            env={**os.environ, "PORT": str(_free_port())},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        with selectors.DefaultSelector() as waiting:
            waiting.register(process.stdout, selectors.EVENT_READ)
            said = waiting.select(timeout=READY_WITHIN)
        line = process.stdout.readline().decode() if said else ""
        if line.startswith("READY "):
            try:
                yield Emulator(json.loads(line[len("READY ") :])["apiURL"], process)
            finally:
                stop(process)
            return
        stop(process)
    raise RuntimeError("the Bot API emulator did not start: run `npm ci --prefix tests/servers`")

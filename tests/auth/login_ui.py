"""A scripted person for logins: what the CLI shows is recorded, what a person would do in the
browser or at the keyboard is done by the test's callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class ScriptedUI:
    on_url: Callable[[str], Awaitable[None]] | None = None
    on_code: Callable[[str, str], Awaitable[None]] | None = None
    pastes: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    secrets: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    codes: list[tuple[str, str, float]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def open_url(self, url: str) -> None:
        self.urls.append(url)
        if self.on_url is not None:
            self._tasks.append(asyncio.ensure_future(self.on_url(url)))

    async def paste(self) -> str | None:
        return await self.pastes.get()

    async def secret(self, prompt: str) -> str | None:
        self.said.append(prompt)
        return self.secrets.pop(0) if self.secrets else None

    def show_code(self, user_code: str, verification_uri: str, expires_in: float) -> None:
        self.codes.append((user_code, verification_uri, expires_in))
        if self.on_code is not None:
            self._tasks.append(asyncio.ensure_future(self.on_code(user_code, verification_uri)))

    def say(self, message: str) -> None:
        self.said.append(message)

    async def settle(self) -> None:
        """Wait for the person's side to finish, surfacing its failures."""
        await asyncio.gather(*self._tasks)

"""The person's side of a login in a terminal: the address to open (and a browser, unless
told not to), a paste line that races the loopback listener, a device code with a countdown,
and secrets read without echo. Everything goes to stderr; stdout stays for results."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import stat
import sys
import time
import webbrowser
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.status import Status


class TerminalUI:
    def __init__(self, console: Console, *, open_browser: bool, stdin: TextIO | None = None):
        self.console = console
        self.open_browser = open_browser
        self.stdin = stdin or sys.stdin
        self._deadline: float | None = None
        self._status: Status | None = None

    # Browser logins ---------------------------------------------------------------------------

    def open_url(self, url: str) -> None:
        self.console.print("Open this address to log in:")
        self.console.print(escape(url), soft_wrap=True, markup=False)
        if self.open_browser:
            with contextlib.suppress(webbrowser.Error):
                webbrowser.open(url)
        self.console.print(
            "If the browser is on another machine, paste the address it ends on "
            "(or the code) here, then press Enter:"
        )

    async def paste(self) -> str | None:
        line = await self._readline()
        return line.strip() if line else None

    async def secret(self, prompt: str) -> str | None:
        if self.stdin.isatty():
            return await asyncio.to_thread(getpass.getpass, f"{prompt}: ")
        self.console.print(f"{prompt} (reading standard input)")
        line = await self._readline()
        return line.strip() if line else None

    async def _readline(self) -> str | None:
        """One line of stdin without blocking the event loop (the listener must keep
        answering meanwhile); None at end of input."""
        fd = self.stdin.fileno()
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)):
            return self.stdin.readline() or None  # a regular file never blocks
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(fd, readable)
        except (PermissionError, OSError):  # /dev/null and the like: nothing to paste
            return None
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        return self.stdin.readline() or None

    # Device logins ----------------------------------------------------------------------------

    def show_code(self, user_code: str, verification_uri: str, expires_in: float) -> None:
        self.console.print(f"Open [bold]{escape(verification_uri)}[/] and enter the code:")
        self.console.print(f"\n    [bold reverse] {escape(user_code)} [/]\n")
        self.console.print(
            "[yellow]Only enter this code on that site, and only for a login you started "
            "yourself: codes like this are a phishing target.[/]"
        )
        self._deadline = time.monotonic() + expires_in
        self._status = self.console.status("waiting for approval…")
        self._status.start()

    async def sleep(self, seconds: float) -> None:
        """The poller's wait, shown as a countdown to the code's expiry."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._status is not None and self._deadline is not None:
                remaining = max(0, int(self._deadline - time.monotonic()))
                minutes, secs = divmod(remaining, 60)
                self._status.update(f"waiting for approval… code expires in {minutes}:{secs:02d}")
            await asyncio.sleep(min(1.0, left))

    def say(self, message: str) -> None:
        self.console.print(escape(message))

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

"""``clawgate chat`` without a message: the interactive conversation.

On a terminal the line is read by prompt_toolkit: line editing, history (kept 0600 in the
state directory), Ctrl-C clears the line, Ctrl-C on an empty line twice or Ctrl-D leaves.
While an answer streams, Ctrl-C (SIGINT: the terminal is in cooked mode then) cancels that
turn only: the upstream request is closed, the partial answer is kept in the history marked
interrupted, and the prompt comes back. Piped input is read line by line, as before.

Lines starting with ``/`` are commands (`clawgate.runtime`'s, shared with the Telegram
channel) and never reach a model; ``//text`` sends ``/text``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from rich.markup import escape

from clawgate.cli._app import App
from clawgate.cli._chat_turn import TurnView
from clawgate.errors import ClawgateError
from clawgate.fileio import ensure_private_dir, private_umask
from clawgate.providers import ImagePart, Message, Part, TextPart
from clawgate.runtime import (
    Runtime,
    TurnRequest,
    choose_model,
    help_text,
    keep_interrupted,
    message_text,
    parse_command,
    status_text,
)

__all__ = ["Asked", "Repl"]

_T = TypeVar("_T")
_PROMPT = "you> "
_NAMES = ("help", "new", "model", "status", "retry", "exit")
_LEAVE = frozenset({"exit", "quit"})
HISTORY_FILE = "chat_history"


@dataclass(frozen=True)
class Asked:
    """What every turn of this chat asks for, from the command line."""

    model: str | None  # --model: only this one
    max_tokens: int | None
    images: tuple[ImagePart, ...]  # sent with the first message


@dataclass
class _Conversation:
    session: str
    pin: str | None = None  # /model REF: tried first, the chain follows
    first: bool = True  # the images go with the first message only
    last: str | None = None  # the last message sent, for /retry
    armed: bool = False  # Ctrl-C on an empty line once: again leaves


class Repl:
    def __init__(self, app: App, runtime: Runtime, asked: Asked, session: str | None) -> None:
        self.app = app
        self.runtime = runtime
        self.asked = asked
        # The history lives in state.db under this key; /new starts another.
        self.chat = _Conversation(session or _new_session())
        self.tty = sys.stdin.isatty() and sys.stdout.isatty()
        self.view = TurnView(app, runtime, spinner=self.tty and app.err.is_terminal)

    async def run(self) -> None:
        read = self._prompter() if self.tty else _piped
        self.app.err.print("[dim]chatting; /help lists the commands, /exit or Ctrl-D leaves[/]")
        while True:
            try:
                line = await read()
            except EOFError:
                self.app.err.print()
                return
            except KeyboardInterrupt:  # Ctrl-C on an empty line
                if self.chat.armed:
                    return
                self.chat.armed = True
                self.app.err.print("[dim](Ctrl-C again or Ctrl-D to leave)[/]")
                continue
            self.chat.armed = False
            if not line.strip():
                continue
            command = parse_command(line)
            if command is None:
                await self._ask(message_text(line))
            elif command.name in _LEAVE:
                return
            elif command.name == "retry":
                await self._retry()
            else:
                try:
                    self._command(command.name, command.args)
                except ClawgateError as exc:
                    self._failed(exc)

    def _prompter(self) -> Callable[[], Awaitable[str]]:
        keys = KeyBindings()

        @keys.add("c-c")
        def _clear(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            if buffer.text:
                buffer.reset()  # the line is cleared; the chat goes on
                self.chat.armed = False
            else:
                event.app.exit(exception=KeyboardInterrupt)

        history: History
        try:
            history = FileHistory(_private_file(self.app, HISTORY_FILE))
        except OSError:  # a read-only state directory: this chat's lines only
            history = InMemoryHistory()
        session: PromptSession[str] = PromptSession(history=history, key_bindings=keys)

        async def read() -> str:
            return await session.prompt_async(_PROMPT)

        return read

    def _request(self, text: str) -> TurnRequest:
        content: str | tuple[Part, ...] = text
        if self.chat.first and self.asked.images:
            content = (TextPart(text), *self.asked.images)
        return TurnRequest(
            (Message("user", content),),
            model=self.chat.pin or self.asked.model,
            fallbacks=self.chat.pin is not None,
            max_tokens=self.asked.max_tokens,
            session=self.chat.session,
            restartable=True,
        )

    async def _ask(self, text: str) -> None:
        request = self._request(text)
        self.chat.last = text
        self.view.text, self.view.turn_id = "", None
        finished = await self._interruptible(lambda: self.view.run(request))
        if finished:
            self.chat.first = False
            return
        sys.stdout.write("\n")
        sys.stdout.flush()
        kept = keep_interrupted(
            self.runtime, self.chat.session, request.messages, self.view.text, self.view.turn_id
        )
        said = "the partial answer is kept in the history" if kept else "nothing was kept"
        self.app.err.print(f"[yellow]✗ interrupted[/] [dim]({said})[/]")
        self.chat.first = self.chat.first and not kept

    async def _interruptible(self, work: Callable[[], Awaitable[_T]]) -> bool:
        """Run ``work`` until it ends (True) or Ctrl-C cancels it (False). A failure is told
        in one line and the chat goes on."""
        task = asyncio.ensure_future(work())
        with _sigint_cancels(task):
            await asyncio.wait({task})
        if task.cancelled():
            return False
        exc = task.exception()
        if isinstance(exc, ClawgateError):
            self._failed(exc)
        elif exc is not None:
            raise exc
        return True

    def _failed(self, exc: ClawgateError) -> None:
        self.app.err.print(f"[red]error:[/] {escape(exc.message)}")
        if exc.fix:
            self.app.err.print(f"  [bold]fix:[/] {escape(exc.fix)}")

    async def _retry(self) -> None:
        if self.chat.last is None:
            self.app.err.print("nothing to retry yet")
            return
        self.app.err.print(f"[dim]retrying: {escape(self.chat.last)}[/]", highlight=False)
        await self._ask(self.chat.last)

    def _command(self, name: str, args: str) -> None:
        say = self.app.err.print
        if name == "help":
            say(escape(help_text(_NAMES)), highlight=False)
            say("[dim]//text sends a message that starts with a slash[/]")
        elif name == "new":
            self.chat = _Conversation(_new_session(), pin=self.chat.pin, first=False)
            say("fresh start: the conversation so far is left behind")
        elif name == "model":
            choice = choose_model(self.runtime.settings, self.chat.pin, args)
            self.chat.pin = choice.pin
            say(escape(choice.text), highlight=False)
        elif name == "status":
            request = self._request("status")
            say(escape(status_text(self.runtime, request)), highlight=False)
        else:
            say(
                f"unknown command /{escape(name)}; /help lists the commands "
                "(//text sends a message that starts with a slash)"
            )


async def _piped() -> str:
    sys.stdout.write(_PROMPT)
    sys.stdout.flush()
    line: str = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        raise EOFError
    return line


def _new_session() -> str:
    return f"terminal:{uuid.uuid4().hex[:12]}"


def _private_file(app: App, name: str) -> str:
    """A file of the state directory, created 0600 before anything writes to it."""
    ensure_private_dir(app.paths.state_dir)
    path = app.paths.state_dir / name
    with private_umask():
        path.touch(mode=0o600, exist_ok=True)
    return str(path)


@contextlib.contextmanager
def _sigint_cancels(task: asyncio.Future[Any]) -> Iterator[None]:
    """While ``task`` runs, Ctrl-C cancels it instead of ending the program."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    except (RuntimeError, ValueError):  # not the main thread (a test's runner): no signals
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)

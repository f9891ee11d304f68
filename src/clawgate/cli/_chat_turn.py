"""One turn on the terminal: a spinner on standard error until the first token (naming the
model being asked, and the one that took over on a fallback), the answer streamed to
standard output, and a footer naming who answered.

The text shown so far is kept (`TurnView.text`), so a turn cancelled mid-stream can keep its
partial answer.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.markup import escape
from rich.status import Status

from clawgate.cli._app import App
from clawgate.errors import ClawgateError
from clawgate.providers import TextDelta
from clawgate.runtime import Answering, Restart, Runtime, TurnRequest, TurnResult

__all__ = ["TurnView", "footer"]


class TurnView:
    def __init__(self, app: App, runtime: Runtime, *, spinner: bool) -> None:
        self.app = app
        self.runtime = runtime
        self.spinner = spinner
        self.text = ""  # what standard output has shown of the current answer
        self.turn_id: str | None = None
        self._status: Status | None = None

    async def run(self, request: TurnRequest) -> TurnResult:
        result: TurnResult | None = None
        with self._spinning(request):
            async for event in self.runtime.stream(request):
                if isinstance(event, Answering):
                    self.turn_id = event.turn_id
                    self._stop()
                    if event.fallback:
                        self.app.err.print(
                            f"[yellow]↪ {escape(event.model)} took over[/]", highlight=False
                        )
                elif isinstance(event, TextDelta):
                    self._stop()
                    self.text += event.text
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Restart):
                    # The terminal cannot unprint: say the text above is void, then the new one.
                    self.text = ""
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                    self.app.err.print(
                        f"[yellow]↻ {escape(event.reason)}; answering again[/]", highlight=False
                    )
                elif isinstance(event, TurnResult):
                    result = event
        assert result is not None
        sys.stdout.write("\n")
        sys.stdout.flush()
        footer(self.app, result)
        return result

    @contextlib.contextmanager
    def _spinning(self, request: TurnRequest) -> Iterator[None]:
        if not self.spinner:
            yield
            return
        self._status = self.app.err.status(f"[dim]asking {escape(self._first(request))}…[/]")
        self._status.start()
        try:
            yield
        finally:
            self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _first(self, request: TurnRequest) -> str:
        """The model asked first (a local one may take a while to load)."""
        try:
            candidates = self.runtime.plan(request).candidates
        except ClawgateError:
            return "the model"  # the turn itself reports what is wrong
        return candidates[0].ref if candidates else "the model"


def footer(app: App, result: TurnResult) -> None:
    line = f"— {result.model} ({result.profile})"
    if result.fallback:
        failed = ", ".join(
            f"{a.candidate}: {a.reason}" for a in result.attempts if a.decision != "succeeded"
        )
        line += f", fallback after {failed}"
    app.err.print(f"[dim]{escape(line)}[/]", highlight=False)

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable

import click

from clawgate.cli._app import App, pass_app
from clawgate.providers import Message, TextDelta
from clawgate.runtime import Restart, Runtime, TurnRequest, TurnResult, open_runtime

_QUIT = frozenset({"/exit", "/quit"})


@click.command()
@click.argument("message", required=False)
@click.option(
    "--model", "model_ref", metavar="REF", help="Use only this model (provider/model or alias)."
)
@click.option("--max-tokens", type=click.IntRange(min=1), help="Cap the answer's length.")
@click.option(
    "--session",
    metavar="KEY",
    help="Continue (or start) the conversation KEY: its history is sent and extended.",
)
@pass_app
def chat(
    app: App,
    message: str | None,
    model_ref: str | None,
    max_tokens: int | None,
    session: str | None,
) -> None:
    """Answer MESSAGE in one turn, or chat interactively when no MESSAGE is given.

    The answer streams to standard output; which model answered goes to standard error.
    """
    asyncio.run(_chat(app, message, model_ref, max_tokens, session))


async def _chat(
    app: App,
    message: str | None,
    model_ref: str | None,
    max_tokens: int | None,
    session: str | None,
) -> None:
    def turn(text: str, session: str | None) -> TurnRequest:
        return TurnRequest(
            (Message("user", text),),
            model=model_ref,
            max_tokens=max_tokens,
            session=session,
            restartable=True,
        )

    async with open_runtime(app.config.settings, app.paths, app.env) as runtime:
        if message is not None:
            await _answer(app, runtime, turn(message, session))
        else:
            await _interactive(app, runtime, turn, session)


async def _answer(app: App, runtime: Runtime, request: TurnRequest) -> TurnResult:
    result: TurnResult | None = None
    async for event in runtime.stream(request):
        if isinstance(event, TextDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Restart):
            # The terminal cannot unprint: say the text above is void, then the new answer.
            sys.stdout.write("\n")
            sys.stdout.flush()
            app.err.print(f"[yellow]↻ {event.reason}; answering again[/]", highlight=False)
        elif isinstance(event, TurnResult):
            result = event
    assert result is not None
    sys.stdout.write("\n")
    sys.stdout.flush()
    _footer(app, result)
    return result


def _footer(app: App, result: TurnResult) -> None:
    line = f"— {result.model} ({result.profile})"
    if result.fallback:
        failed = ", ".join(
            f"{a.candidate}: {a.reason}" for a in result.attempts if a.decision != "succeeded"
        )
        line += f", fallback after {failed}"
    app.err.print(f"[dim]{line}[/]", highlight=False)


async def _interactive(
    app: App,
    runtime: Runtime,
    turn: Callable[[str, str | None], TurnRequest],
    session: str | None,
) -> None:
    app.err.print("[dim]chatting; /exit or Ctrl-D to leave[/]")
    session = session or f"terminal:{uuid.uuid4().hex[:12]}"  # history lives in state.db
    while True:
        try:
            line = await asyncio.to_thread(input, "you> ")
        except EOFError:
            app.err.print()
            return
        text = line.strip()
        if not text:
            continue
        if text in _QUIT:
            return
        await _answer(app, runtime, turn(text, session))

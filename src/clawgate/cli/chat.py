from __future__ import annotations

import asyncio
import sys

import click

from clawgate.cli._app import App, pass_app
from clawgate.providers import Message, TextDelta
from clawgate.runtime import Runtime, TurnRequest, TurnResult

_QUIT = frozenset({"/exit", "/quit"})


@click.command()
@click.argument("message", required=False)
@click.option(
    "--model", "model_ref", metavar="REF", help="Use only this model (provider/model or alias)."
)
@click.option("--max-tokens", type=click.IntRange(min=1), help="Cap the answer's length.")
@pass_app
def chat(app: App, message: str | None, model_ref: str | None, max_tokens: int | None) -> None:
    """Answer MESSAGE in one turn, or chat interactively when no MESSAGE is given.

    The answer streams to standard output; which model answered goes to standard error.
    """
    runtime = Runtime(app.config.settings)
    if message is not None:
        request = TurnRequest((Message("user", message),), model=model_ref, max_tokens=max_tokens)
        asyncio.run(_answer(app, runtime, request))
    else:
        asyncio.run(_interactive(app, runtime, model_ref, max_tokens))


async def _answer(app: App, runtime: Runtime, request: TurnRequest) -> TurnResult:
    result: TurnResult | None = None
    async for event in runtime.stream(request):
        if isinstance(event, TextDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        else:
            result = event
    assert result is not None
    sys.stdout.write("\n")
    sys.stdout.flush()
    _footer(app, result)
    return result


def _footer(app: App, result: TurnResult) -> None:
    line = f"— {result.model} ({result.profile})"
    if result.fallback:
        failed = ", ".join(f"{a.candidate.ref}: {a.failure}" for a in result.attempts if a.failure)
        line += f", fallback after {failed}"
    app.err.print(f"[dim]{line}[/]", highlight=False)


async def _interactive(
    app: App, runtime: Runtime, model_ref: str | None, max_tokens: int | None
) -> None:
    app.err.print("[dim]chatting; /exit or Ctrl-D to leave[/]")
    history: list[Message] = []
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
        history.append(Message("user", text))
        request = TurnRequest(tuple(history), model=model_ref, max_tokens=max_tokens)
        result = await _answer(app, runtime, request)
        history.append(Message("assistant", result.text))

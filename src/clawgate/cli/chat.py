from __future__ import annotations

import asyncio
import base64
import mimetypes
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import click

from clawgate.cli._app import App, pass_app
from clawgate.providers import ImagePart, Message, Part, TextDelta, TextPart
from clawgate.runtime import Restart, Runtime, TurnRequest, TurnResult, open_runtime

_QUIT = frozenset({"/exit", "/quit"})


@dataclass(frozen=True)
class _Ask:
    """What every turn of this chat asks for, from the command line."""

    model: str | None
    max_tokens: int | None
    images: tuple[ImagePart, ...]  # sent with the first message

    def turn(self, text: str, session: str | None, *, first: bool) -> TurnRequest:
        content: str | tuple[Part, ...] = text
        if first and self.images:
            content = (TextPart(text), *self.images)
        return TurnRequest(
            (Message("user", content),),
            model=self.model,
            max_tokens=self.max_tokens,
            session=session,
            restartable=True,
        )


def _image(path: Path) -> ImagePart:
    media, _ = mimetypes.guess_type(path.name)
    if media is None or not media.startswith("image/"):
        raise click.BadParameter(f"{path} is not an image (png, jpeg, gif or webp)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    return ImagePart(f"data:{media};base64,{base64.b64encode(data).decode()}")


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
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Send this image with the (first) message, for a model that can see. Repeatable.",
)
@pass_app
def chat(
    app: App,
    message: str | None,
    model_ref: str | None,
    max_tokens: int | None,
    session: str | None,
    images: tuple[Path, ...],
) -> None:
    """Answer MESSAGE in one turn, or chat interactively when no MESSAGE is given.

    The answer streams to standard output; which model answered goes to standard error.
    """
    ask = _Ask(model_ref, max_tokens, tuple(_image(p) for p in images))
    asyncio.run(_chat(app, message, ask, session))


async def _chat(app: App, message: str | None, ask: _Ask, session: str | None) -> None:
    async with open_runtime(app.config.settings, app.paths, app.env) as runtime:
        if message is not None:
            await _answer(app, runtime, ask.turn(message, session, first=True))
        else:
            await _interactive(app, runtime, ask, session)


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


async def _interactive(app: App, runtime: Runtime, ask: _Ask, session: str | None) -> None:
    app.err.print("[dim]chatting; /exit or Ctrl-D to leave[/]")
    session = session or f"terminal:{uuid.uuid4().hex[:12]}"  # history lives in state.db
    first = True
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
        await _answer(app, runtime, ask.turn(text, session, first=first))
        first = False

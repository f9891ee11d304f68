"""`clawgate chat`: one turn (MESSAGE), or the interactive conversation (`_repl`)."""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import sys
from pathlib import Path

import click

from clawgate.cli._app import App, pass_app
from clawgate.cli._chat_turn import TurnView
from clawgate.cli._names import SESSION_KEY
from clawgate.cli._repl import Asked, Repl
from clawgate.providers import ImagePart, Message, Part, TextPart
from clawgate.runtime import TurnRequest, open_runtime


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
    type=SESSION_KEY,
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
    Interactively: /help lists the commands (/new /model /status /retry /exit), Ctrl-C
    cancels the answer being written (or clears the line), Ctrl-D leaves.
    """
    asked = Asked(model_ref, max_tokens, tuple(_image(p) for p in images))
    asyncio.run(_chat(app, message, asked, session))


async def _chat(app: App, message: str | None, asked: Asked, session: str | None) -> None:
    async with open_runtime(app.config.settings, app.paths, app.env) as runtime:
        if message is None:
            await Repl(app, runtime, asked, session).run()
            return
        content: str | tuple[Part, ...] = message
        if asked.images:
            content = (TextPart(message), *asked.images)
        request = TurnRequest(
            (Message("user", content),),
            model=asked.model,
            max_tokens=asked.max_tokens,
            session=session,
            restartable=True,
        )
        spinner = sys.stdout.isatty() and app.err.is_terminal
        await TurnView(app, runtime, spinner=spinner).run(request)

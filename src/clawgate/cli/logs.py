"""`clawgate logs`: the gateway's JSON-lines log (`service._logs`), oldest first, as readable
lines; ``--turn`` keeps one turn's lines, ``--level`` those at or above a level, ``-f`` waits
for more (following the file across a rotation)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from clawgate.cli._app import App, pass_app
from clawgate.cli._names import TURN_ID
from clawgate.service import LOG_FILE

LEVELS = ("debug", "info", "warning", "error", "critical")
FOLLOW_POLL = 0.5  # seconds between looks at a followed file


@click.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Keep printing lines as they are written.")
@click.option(
    "--turn",
    "turn_id",
    type=TURN_ID,
    metavar="ID",
    help="Only this turn's lines (its id is in the API's x-clawgate-turn header).",
)
@click.option(
    "--level",
    type=click.Choice(LEVELS, case_sensitive=False),
    help="Only lines at this level or above.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the lines as they are stored.")
@pass_app
def logs(app: App, follow: bool, turn_id: str | None, level: str | None, as_json: bool) -> None:
    """The gateway's log: every request and turn, each line with its request and turn id."""
    path = app.paths.logs_dir / LOG_FILE
    keep = wanted(turn_id, level)
    if not path.exists() and not follow:
        click.echo(f"no log yet: {path} is written by a running gateway (clawgate gateway run)")
        return
    lines = stored_lines(path)
    if follow:
        lines = _chain(lines, followed(path))
    with contextlib.closing(lines):
        try:
            for line in lines:
                entry = parsed(line)
                if keep(entry):
                    click.echo(line if as_json else readable(entry))
        except KeyboardInterrupt:  # how -f ends
            pass


def stored_lines(path: Path) -> Generator[str, None, None]:
    """The lines of ``path`` and its rotated files (``.N`` is older than ``.N-1``), oldest
    first."""
    rotated = sorted(
        (p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    for file in (*rotated, path):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:  # rotated away meanwhile
            continue
        yield from text.splitlines()


def followed(
    path: Path, *, wait: Callable[[float], None] = time.sleep, start_at_end: bool = True
) -> Generator[str, None, None]:
    """Lines appended to ``path`` from now on; when it is rotated (another file at the path),
    the new one is read from its start."""
    handle: IO[str] | None = None
    identity: tuple[int, int] | None = None
    pending = ""
    try:
        while True:
            if handle is None and path.exists():
                handle = path.open(encoding="utf-8", errors="replace")
                stat = os.fstat(handle.fileno())
                identity = (stat.st_dev, stat.st_ino)
                if start_at_end:
                    handle.seek(0, os.SEEK_END)
                start_at_end = False
            if handle is not None:
                chunk = handle.read()
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split("\n")
                    yield from complete
                    continue
                try:
                    now = path.stat()
                except FileNotFoundError:
                    now = None
                if now is None or (now.st_dev, now.st_ino) != identity:
                    handle.close()
                    handle = None
                    continue
            wait(FOLLOW_POLL)
    finally:
        if handle is not None:
            handle.close()


def _chain(first: Iterator[str], then: Generator[str, None, None]) -> Generator[str, None, None]:
    yield from first
    with contextlib.closing(then):
        yield from then


def parsed(line: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):  # not one of the gateway's lines: shown as it is
        return {"message": line}
    return entry


def wanted(turn_id: str | None, level: str | None) -> Callable[[dict[str, Any]], bool]:
    floor = logging.getLevelName(level.upper()) if level else logging.NOTSET

    def keep(entry: dict[str, Any]) -> bool:
        if turn_id is not None and entry.get("turn_id") != turn_id:
            return False
        number = logging.getLevelName(str(entry.get("level", "")).upper())
        return not isinstance(number, int) or number >= floor

    return keep


def readable(entry: dict[str, Any]) -> str:
    at = entry.get("at")
    when = ""
    if isinstance(at, str):
        try:
            when = datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M:%S") + " "
        except ValueError:
            when = at + " "
    level = str(entry.get("level", "")).ljust(7) + " " if entry.get("level") else ""
    logger = f"{entry['logger']}: " if entry.get("logger") else ""
    ids = " ".join(
        f"{name}={entry[key]}"
        for name, key in (("request", "request_id"), ("turn", "turn_id"))
        if entry.get(key)
    )
    text = f"{when}{level}{logger}{entry.get('message', '')}" + (f"  [{ids}]" if ids else "")
    if entry.get("exception"):
        text += "\n" + str(entry["exception"])
    return text

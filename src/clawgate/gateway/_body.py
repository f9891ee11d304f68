"""One reader of request bodies for every surface (Chat Completions, Responses, Messages,
embeddings, the control API): the bytes are bounded before they are parsed, and the parsed
document before any route reads it, so a hostile body is a 400 that names its field, never
an exception deeper in.

- size: at most ``limit`` bytes (``gateway.maxBodyBytes``), declared or counted as it
  arrives (``request_too_large``, which the routes answer 413);
- text: UTF-8 (RFC 8259, 8.1). A byte that is not UTF-8, or an escape that leaves a lone
  surrogate (``"\\ud800"``, which RFC 8259, 8.2 lets parsers accept), is refused in the
  string that holds it: such text cannot be encoded for a header, ``state.db`` or an
  upstream, which all take UTF-8;
- numbers: finite (RFC 8259, 6: no ``NaN`` or ``Infinity``, so no ``1e999`` either), and
  integers of at most `MAX_DIGITS` digits;
- shape: nested at most `MAX_DEPTH` deep, at most `MAX_ITEMS` members in an array or object,
  keys at most `MAX_KEY` characters, strings at most `MAX_STRING`.

A field is named as pydantic names it (``messages.0.content``), so a refusal reads the same
whichever check made it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import anyio
from starlette.requests import Request

from clawgate.config import MAX_BODY_BYTES
from clawgate.gateway._openai import RequestError

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_ITEMS",
    "MAX_KEY",
    "MAX_STRING",
    "parse_json",
    "read_body",
    "read_json",
]

MAX_DEPTH = 64  # tool schemas nest a dozen levels; nothing real nests 64
MAX_ITEMS = 100_000  # members of one array or object
MAX_KEY = 1_024  # characters of an object key
MAX_STRING = 1 << 25  # characters of one string: a large image as a data URL fits
MAX_DIGITS = 100  # of an integer (Python refuses over 4,300 with a confusing message)
_PLACE = 300  # characters of a field's place in a message
_IN_THREAD = 256 * 1024  # bytes: parsing more blocks the event loop for milliseconds

# A JSON escape that may stand for a surrogate (\ud800-\udfff); only then can a body that
# is valid UTF-8 still hold a lone one, and its strings need searching.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, at most ``limit`` bytes; `RequestError` (``request_too_large``) when over.
    A client that goes away meanwhile raises starlette's ``ClientDisconnect``."""
    declared = request.headers.get("content-length")
    too_large = RequestError(
        f"the body is over {limit} bytes (raise gateway.maxBodyBytes to allow more)",
        code="request_too_large",
    )
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for part in request.stream():
        chunks.append(part)
        size += len(part)
        if size > limit:
            raise too_large
    return b"".join(chunks)


async def read_json(
    request: Request, *, empty: object = None, limit: int = MAX_BODY_BYTES
) -> object:
    """The body as a checked JSON document; ``empty`` stands for a blank body when given."""
    raw = await read_body(request, limit)
    if empty is not None and not raw.strip():
        return empty
    if len(raw) > _IN_THREAD:
        return await anyio.to_thread.run_sync(parse_json, raw)
    return parse_json(raw)


def parse_json(raw: bytes) -> object:
    """``raw`` as JSON within the bounds above, or `RequestError` naming what is wrong."""
    try:
        text = raw.decode("utf-8")
        strict = True
    except UnicodeDecodeError:
        # Undecodable bytes become lone surrogates (PEP 383), refused below in their string;
        # outside a string they make the JSON invalid.
        text = raw.decode("utf-8", "surrogateescape")
        strict = False
    try:
        document = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise RequestError(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    check_document(document, text=not strict or bool(_SURROGATE_ESCAPE.search(raw)))
    return document


def check_document(document: object, *, text: bool = True) -> None:
    """Depth, sizes and (when ``text``) lone surrogates, walked without recursion."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            _check_string(value, where, text)
            continue
        if not isinstance(value, (list, dict)):
            continue  # a number, true, false or null: checked as it was parsed
        if len(where) >= MAX_DEPTH:
            raise RequestError(
                f"{_place(where)} is nested more than {MAX_DEPTH} levels deep",
                param=_place(where),
            )
        if len(value) > MAX_ITEMS:
            raise RequestError(
                f"{_place(where)} has {len(value)} members; at most {MAX_ITEMS}",
                param=_place(where),
            )
        members = value.items() if isinstance(value, dict) else enumerate(value)
        for key, member in members:
            if isinstance(key, str):
                _check_key(key, where, text)
            if isinstance(member, (str, list, dict)):
                stack.append((member, (*where, _segment(key))))


def _check_string(value: str, where: tuple[str, ...], text: bool) -> None:
    if len(value) > MAX_STRING:
        raise RequestError(
            f"{_place(where)} is {len(value)} characters long; at most {MAX_STRING}",
            param=_place(where),
        )
    if text and _SURROGATE.search(value):
        raise RequestError(
            f"{_place(where)} is not valid UTF-8 text: it holds a byte that is not UTF-8 or "
            "an escape of a lone surrogate (\\ud800-\\udfff); send it as UTF-8",
            param=_place(where),
        )


def _check_key(key: str, where: tuple[str, ...], text: bool) -> None:
    if len(key) > MAX_KEY:
        raise RequestError(
            f"{_place(where)} has a key {len(key)} characters long; at most {MAX_KEY}",
            param=_place(where),
        )
    if text and _SURROGATE.search(key):
        raise RequestError(
            f"{_place(where)} has a key that is not valid UTF-8 text: send keys as UTF-8",
            param=_place(where),
        )


def _segment(key: str | int) -> str:
    """One step of a field's place, printable whatever the key holds."""
    if isinstance(key, int):
        return str(key)
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _place(where: tuple[str, ...]) -> str:
    place = ".".join(where) if where else "body"
    return place if len(place) <= _PLACE else place[: _PLACE - 1] + "…"


def _no_constant(name: str) -> object:
    raise RequestError(f"the body has {name}, which is not JSON (RFC 8259 has no such number)")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise RequestError(f"the body has the number {literal[:40]}, too large for a float")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_DIGITS:
        raise RequestError(f"the body has an integer of more than {MAX_DIGITS} digits")
    return int(literal)

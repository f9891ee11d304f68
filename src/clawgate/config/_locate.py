"""Map key paths of a JSON5 document to line and column, for error messages.

pyjson5 parses fast but reports no positions for values, so this small scanner walks the
same text once and remembers where every key (and every array element) starts. It is only
run when a message needs a location, and it never raises: on text it cannot follow it
returns what it found so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line, column

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<punct>[{}\[\]:,])
  | (?P<bare>[^\s{}\[\]:,"'/]+)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class _Frame:
    path: KeyPath
    is_object: bool
    next_index: int = 0
    last_key: KeyPath | None = None


def locate_keys(text: str) -> dict[KeyPath, Position]:
    """Return the position of every key path in ``text``.

    An object member is located at its key; an array element at its first character.
    """
    positions: dict[KeyPath, Position] = {}
    stack: list[_Frame] = []
    expecting_key = False
    member_path: KeyPath = ()
    offset = 0
    while offset < len(text):
        match = _TOKEN.match(text, offset)
        if match is None:
            break
        offset = match.end()
        kind, lexeme = match.lastgroup, match.group()
        if kind in ("ws", "comment"):
            continue
        top = stack[-1] if stack else None
        if top is not None and top.is_object and expecting_key and kind in ("string", "bare"):
            key = lexeme[1:-1] if kind == "string" else lexeme
            top.last_key = (*top.path, key)
            positions[top.last_key] = offset_to_position(text, match.start())
            expecting_key = False
        elif lexeme == ":":
            member_path = top.last_key if top is not None and top.last_key else ()
        elif lexeme == ",":
            expecting_key = top is not None and top.is_object
        elif lexeme in ("}", "]"):
            if stack:
                stack.pop()
            expecting_key = False
        else:
            # A value starts here; inside an array it takes the next index.
            path = member_path
            if top is not None and not top.is_object:
                path = (*top.path, top.next_index)
                top.next_index += 1
                positions[path] = offset_to_position(text, match.start())
            if lexeme in ("{", "["):
                stack.append(_Frame(path=path, is_object=lexeme == "{"))
                expecting_key = lexeme == "{"
    return positions


def nearest(positions: dict[KeyPath, Position], path: KeyPath) -> Position | None:
    """The position of ``path``, or of its closest located ancestor."""
    for end in range(len(path), 0, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return None


def offset_to_position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column

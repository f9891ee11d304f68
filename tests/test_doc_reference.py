"""docs/configuration.md is the reference of ``clawgate.json``: it names every key the schema
takes, the defaults it gives are the schema's, and the examples in the docs load cleanly. A key
added to `clawgate.config` without its row here fails this test."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyjson5
import pytest
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from clawgate.config import Settings, parse_config

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "configuration.md"
_PLACEHOLDER = re.compile(r"<[^>\s]*>")  # `<id>`, `<provider>`, `<ref>`: any key
_ROW = re.compile(r"^\| `([^`]+)` \|[^|]*\| (.*?) \|", re.M)


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrapped(annotation: Any) -> Any:
    """``X | None`` as ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf key of ``model`` as the file spells it (``<>`` for a key of your own, ``[]``
    for each list entry), with its field's default (`...` where there is none)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or to_camel(name)}"
        annotation = _unwrapped(info.annotation)
        default = info.get_default(call_default_factory=True) if not info.is_required() else ...
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        inner = _model(_unwrapped(args[-1])) if args else None
        if _model(annotation) is not None:
            yield from keys(annotation, f"{path}.")
        elif origin is dict and inner is not None:
            yield from keys(inner, f"{path}.<>.")
        elif origin is list and inner is not None:
            yield from keys(inner, f"{path}[].")
        elif origin is dict:
            yield f"{path}.<>", ...
        else:
            yield path, default


def documented() -> dict[str, str]:
    """The reference's rows: key (placeholders as ``<>``) → the default cell."""
    text = REFERENCE.read_text()
    return {_PLACEHOLDER.sub("<>", key): cell for key, cell in _ROW.findall(text)}


def test_every_key_of_the_schema_has_a_row() -> None:
    rows = documented()
    missing = [path for path, _ in keys(Settings) if path not in rows]
    assert not missing, f"docs/configuration.md has no row for: {', '.join(missing)}"


def test_every_row_is_a_key_of_the_schema() -> None:
    known = {path for path, _ in keys(Settings)}
    # A section's own row (`models.providers.<id>.timeouts`) stands for its keys.
    prefixes = {p.rsplit(".", 1)[0] for p in known} | {p.split("[]", 1)[0] for p in known}
    unknown = [row for row in documented() if row not in known and row not in prefixes]
    assert not unknown, f"docs/configuration.md documents keys the schema lacks: {unknown}"


def test_the_documented_defaults_are_the_schemas() -> None:
    """A default cell that starts with a value in a code span is checked against the schema
    (prose defaults such as "the built-in's" are not)."""
    rows = documented()
    checked = 0
    for path, default in keys(Settings):
        cell = rows.get(path, "")
        value = re.match(r"`([^`]+)`", cell)
        if value is None or default is ...:
            continue
        try:
            said = pyjson5.decode(value.group(1))
        except pyjson5.Json5Exception:
            pytest.fail(f"{path}: the default cell {cell!r} does not start with a JSON5 value")
        assert said == default, f"{path}: documented {said!r}, the schema's is {default!r}"
        checked += 1
    assert checked >= 20


def _examples() -> Iterator[tuple[str, str]]:
    for page in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = page.read_text()
        for match in re.finditer(r"^```json5\n(.*?)^```", text, re.M | re.S):
            line = text.count("\n", 0, match.start()) + 1
            yield f"{page.relative_to(ROOT).as_posix()}:{line}", match.group(1)


@pytest.mark.parametrize(("where", "example"), list(_examples()), ids=[w for w, _ in _examples()])
def test_every_config_example_loads_without_a_warning(
    tmp_path: Path, where: str, example: str
) -> None:
    loaded = parse_config(example, source=tmp_path / "clawgate.json", env={})
    assert not loaded.warnings, f"{where}: {[str(w) for w in loaded.warnings]}"

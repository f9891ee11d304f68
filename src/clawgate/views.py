"""One way to turn a view into JSON: a dataclass's fields under camelCase names, enums by their
value, paths as text, nested views, lists and mappings likewise (a mapping keeps its keys).

Every ``--json`` output and control-API body that shows a view is made here, so they all follow
one naming rule (docs/style.md, "The command line is a thin skin": each public command has
``--json`` with a stable schema).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

__all__ = ["camel", "json_value", "to_json"]


def camel(name: str) -> str:
    """``expires_at`` → ``expiresAt``; a name without underscores is kept."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def to_json(
    view: Any, *, rename: Mapping[str, str] | None = None, drop: Collection[str] = ()
) -> dict[str, Any]:
    """The dataclass ``view`` as a JSON object. ``rename`` gives a field a name of its own
    (``profile_id`` is shown as ``profile``); ``drop`` leaves fields out."""
    names = rename or {}
    return {
        names.get(f.name) or camel(f.name): json_value(getattr(view, f.name))
        for f in dataclasses.fields(view)
        if f.name not in drop
    }


def json_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {k: json_value(v) for k, v in value.items()}  # a mapping's keys are data
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value

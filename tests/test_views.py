"""`clawgate.views`: the one way a view becomes JSON (camelCase names, enums by value, paths as
text, nested views, lists, tuples and mappings)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from clawgate.views import camel, json_value, to_json


class Colour(Enum):
    RED = "red"
    BLUE = 2


class Status(StrEnum):
    NEEDS_LOGIN = "needs_login"


@dataclass(frozen=True)
class Window:
    used_percent: int
    resets_at: float | None = None


@dataclass(frozen=True)
class Profile:
    profile_id: str
    status: Status
    vault_path: Path
    windows: tuple[Window, ...] = ()
    models: list[str] = field(default_factory=list)
    by_model: dict[str, Window] = field(default_factory=dict)
    primary: Window | None = None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("expires_at", "expiresAt"),
        ("first_token_ms", "firstTokenMs"),
        ("window_5h", "window5h"),
        ("id", "id"),
        ("alreadyCamel", "alreadyCamel"),
    ],
)
def test_camel(name: str, expected: str) -> None:
    assert camel(name) == expected


def test_a_view_has_camel_case_keys_in_field_order() -> None:
    view = Window(used_percent=40, resets_at=1.5)
    assert to_json(view) == {"usedPercent": 40, "resetsAt": 1.5}
    assert list(to_json(view)) == ["usedPercent", "resetsAt"]


def test_rename_gives_a_field_its_own_name_and_drop_leaves_fields_out() -> None:
    view = Window(used_percent=40, resets_at=None)
    assert to_json(view, rename={"used_percent": "used"}) == {"used": 40, "resetsAt": None}
    assert to_json(view, drop={"resets_at"}) == {"usedPercent": 40}
    assert to_json(view, rename={"used_percent": "used"}, drop=["used_percent"]) == {
        "resetsAt": None
    }


def test_enums_paths_nested_views_lists_tuples_and_mappings() -> None:
    view = Profile(
        profile_id="sub:me",
        status=Status.NEEDS_LOGIN,
        vault_path=Path("/state/vault/profiles/sub_me.json"),
        windows=(Window(10), Window(90, 7.0)),
        models=["a/m", "b/m"],
        by_model={"a/m": Window(5), "first_token": Window(6)},
        primary=Window(1, 2.0),
    )
    out = to_json(view, rename={"profile_id": "profile"})
    assert out == {
        "profile": "sub:me",
        "status": "needs_login",
        "vaultPath": "/state/vault/profiles/sub_me.json",
        "windows": [
            {"usedPercent": 10, "resetsAt": None},
            {"usedPercent": 90, "resetsAt": 7.0},
        ],
        "models": ["a/m", "b/m"],
        # A mapping's keys are data: kept as they are, not camelCased.
        "byModel": {
            "a/m": {"usedPercent": 5, "resetsAt": None},
            "first_token": {"usedPercent": 6, "resetsAt": None},
        },
        "primary": {"usedPercent": 1, "resetsAt": 2.0},
    }
    assert type(out["status"]) is str  # the value, not the enum member
    assert json.loads(json.dumps(out)) == out


def test_rename_applies_to_the_top_level_view_only() -> None:
    @dataclass
    class Outer:
        used_percent: int
        inner: Window

    out = to_json(Outer(1, Window(2)), rename={"used_percent": "used"})
    assert out == {"used": 1, "inner": {"usedPercent": 2, "resetsAt": None}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Colour.RED, "red"),
        (Colour.BLUE, 2),
        (PurePosixPath("a/b.txt"), "a/b.txt"),
        ((1, (2, Colour.RED)), [1, [2, "red"]]),
        ({"k_1": [Colour.BLUE]}, {"k_1": [2]}),
        ("text", "text"),
        (None, None),
        (3.5, 3.5),
    ],
)
def test_json_value(value: Any, expected: Any) -> None:
    assert json_value(value) == expected


def test_a_dataclass_class_itself_is_not_a_view() -> None:
    assert json_value(Window) is Window

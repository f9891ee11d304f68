"""A package face that imports a name's module on first use (PEP 562), so a command pays only
for what it touches (`bench/cli_startup.py`; tests/test_cli_imports.py guards it)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, where: Mapping[str, str], renamed: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``where`` maps a public name to the private
    module defining it, ``renamed`` a public name to that module's own name for it."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{where[name]}")
        value = getattr(module, (renamed or {}).get(name, name))
        vars(sys.modules[package])[name] = value  # once: later lookups are plain attributes
        return value

    return __getattr__

"""Command-line values that become file names or keys, checked while the command line is
parsed (`clawgate.names`), before any command touches the vault or state.db.

A bad one raises `names.BadName`, a `ClawgateError`: the root group prints it as one line,
``error: <what> is not valid: use <the allowed form>``, and exits 2 like a usage error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from clawgate import names

# click made ParamType generic in 8.2; pyproject allows 8.1, where subscripting it fails.
if TYPE_CHECKING:
    _ParamType = click.ParamType[str, str]
else:
    _ParamType = click.ParamType


class Name(_ParamType):
    def __init__(self, name: str, check: Callable[[str], str]) -> None:
        self.name = name  # the metavar click shows, upper-cased
        self.check = check

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return self.check(value)


PROFILE_ID = Name("id", names.check_profile_id)
PROVIDER = Name("provider", names.check_provider_id)
TURN_ID = Name("id", names.check_turn_id)
SESSION_KEY = Name("key", names.check_session_key)

"""The Telegram channel in one line, as `gateway status` and `models status` show it."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

_STYLE = {"connected": "green", "starting": "yellow", "reconnecting": "yellow"}


def telegram_line(facts: dict[str, Any] | None) -> str | None:
    """``telegram: connected (@bot)``, or the state with its fix; None when it is off."""
    if not facts or not facts.get("enabled"):
        return None
    state = str(facts.get("state"))
    line = f"telegram: [{_STYLE.get(state, 'red')}]{escape(state)}[/]"
    if facts.get("bot"):
        line += f" (@{escape(str(facts['bot']))})"
    if facts.get("detail"):
        line += f": {escape(str(facts['detail']))}"
    if facts.get("fix"):
        line += f"; fix: {escape(str(facts['fix']))}"
    return line

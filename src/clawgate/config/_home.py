"""The home and tool directories outside clawgate's state dir, derived from the environment
only here: the user's home, the XDG config home, the systemd user unit directory, and where
the Codex CLI and OpenClaw keep their state."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CODEX_HOME_ENV",
    "OPENCLAW_STATE_DIR_ENV",
    "codex_home",
    "home_dir",
    "openclaw_state_dir",
    "user_unit_dir",
    "xdg_config_home",
]

CODEX_HOME_ENV = "CODEX_HOME"
OPENCLAW_STATE_DIR_ENV = "OPENCLAW_STATE_DIR"


def home_dir(env: Mapping[str, str]) -> Path:
    """``$HOME`` (a leading ``~`` expanded); the process's home when it is unset or empty."""
    home = env.get("HOME")
    return Path(home).expanduser() if home else Path.home()


def xdg_config_home(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME``, or ``~/.config`` when it is unset or empty (XDG Base Directory)."""
    return Path(env.get("XDG_CONFIG_HOME") or home_dir(env) / ".config")


def user_unit_dir(env: Mapping[str, str]) -> Path:
    """Where systemd looks for the user's own units: ``$XDG_CONFIG_HOME/systemd/user``."""
    return xdg_config_home(env) / "systemd" / "user"


def _tool_dir(env: Mapping[str, str], name: str, dot_dir: str) -> Path:
    given = env.get(name)
    return Path(given).expanduser() if given else home_dir(env) / dot_dir


def codex_home(env: Mapping[str, str]) -> Path:
    """The Codex CLI's home: ``$CODEX_HOME`` or ``~/.codex``."""
    return _tool_dir(env, CODEX_HOME_ENV, ".codex")


def openclaw_state_dir(env: Mapping[str, str]) -> Path:
    """OpenClaw's state dir: ``$OPENCLAW_STATE_DIR`` or ``~/.openclaw``."""
    return _tool_dir(env, OPENCLAW_STATE_DIR_ENV, ".openclaw")

"""Where a running gateway says it is: ``<state>/gateway.json`` (its pid and address), written
by the gateway when it listens and read by the CLI, status and doctor."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from clawgate.config import Paths
from clawgate.errors import ClawgateError

__all__ = ["AlreadyRunning", "GatewayError", "read_runtime_file", "runtime_file"]


class GatewayError(ClawgateError):
    code = "gateway"


class AlreadyRunning(GatewayError):
    code = "already_running"


def runtime_file(paths: Paths) -> Path:
    return paths.state_dir / "gateway.json"


def read_runtime_file(paths: Paths) -> dict[str, Any] | None:
    """The running gateway's pid and address, or None when none is running."""
    try:
        facts = json.loads(runtime_file(paths).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(facts, dict):
        return None
    pid = facts.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return dict(facts)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

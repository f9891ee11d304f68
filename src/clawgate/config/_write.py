"""Change ``clawgate.json`` on behalf of a command (profile metadata, auth order).

The file is re-read, changed, validated as a whole and replaced atomically under a lock; the
previous text is kept as ``clawgate.json.bak``. Comments do not survive a rewrite (pyjson5
does not keep them), and the header says so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import filelock

from clawgate.config._load import ConfigError, _Document, parse_config, read_config_text
from clawgate.fileio import ensure_private_dir, write_atomic

HEADER = (
    "// clawgate configuration (JSON5). Rewritten by a clawgate command: comments are not\n"
    "// kept; the previous text is beside this file, in clawgate.json.bak*.\n"
)


def edit_config(
    config_file: Path, env: Mapping[str, str], change: Callable[[dict[str, Any]], None]
) -> None:
    rewrite_config(
        config_file, env, change, backup=config_file.with_name(config_file.name + ".bak")
    )


def rewrite_config(
    config_file: Path,
    env: Mapping[str, str],
    change: Callable[[dict[str, Any]], None],
    *,
    backup: Path | None,
    dry_run: bool = False,
) -> tuple[str | None, str | None]:
    """Apply ``change`` to the decoded config under the config lock: (old text, new text),
    new None when the change changed nothing (and nothing was written). The old text goes
    to ``backup`` first; ``dry_run`` only computes."""
    ensure_private_dir(config_file.parent, tighten=False)
    # 0600 like every file of the state directory (an older 0644 one: `clawgate doctor --fix`).
    lock = filelock.FileLock(
        config_file.parent / f".{config_file.name}.lock", timeout=10, mode=0o600
    )
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ConfigError(
            f"{config_file} is being changed by another clawgate command",
            fix="retry when it has finished",
        ) from None
    try:
        old = read_config_text(config_file)  # bounded, like every read of the config
        raw = _Document(old, str(config_file)).decode() if old is not None else {}
        before = copy.deepcopy(raw)
        change(raw)
        if old is not None and raw == before:
            return old, None
        new = HEADER + json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
        parse_config(new, source=config_file, env=env)  # refuse to write what cannot load
        if not dry_run:
            if old is not None and backup is not None:
                write_atomic(backup, old.encode())
            write_atomic(config_file, new.encode())
        return old, new
    finally:
        lock.release()

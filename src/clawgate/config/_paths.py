"""Where clawgate keeps its state: one directory, derived from the environment only here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "CLAWGATE_STATE_DIR"
CONFIG_ENV = "CLAWGATE_CONFIG"
CONFIG_NAME = "clawgate.json"


@dataclass(frozen=True)
class Paths:
    """The state directory layout of docs/configuration.md ("State directory")."""

    state_dir: Path
    config_file: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Paths:
        raw = env.get(STATE_DIR_ENV)
        state_dir = Path(raw).expanduser() if raw else Path.home() / ".clawgate"
        config = env.get(CONFIG_ENV)
        config_file = Path(config).expanduser() if config else state_dir / CONFIG_NAME
        return cls(state_dir=state_dir, config_file=config_file)

    @property
    def vault_dir(self) -> Path:
        return self.state_dir / "vault"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"


def config_digest(config_file: Path) -> str | None:
    """What identifies a config's content: the gateway reports the one it runs on, the CLI
    compares it with the file's. None when there is no file (built-in defaults)."""
    try:
        return hashlib.sha256(config_file.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None

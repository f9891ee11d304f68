"""The config that `clawgate setup` writes: the built-in defaults, spelled out with comments."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from clawgate.config._paths import Paths
from clawgate.config._schema import DEFAULT_PRIMARY

DEFAULT_CONFIG_TEXT = f"""\
// clawgate configuration (JSON5: comments and trailing commas are fine).
// No secrets here: API keys and logins live in the encrypted vault, managed with
// `clawgate models auth ...`.
{{
  agents: {{
    defaults: {{
      model: {{
        // The embedded local model answers with no credentials and no network.
        primary: "{DEFAULT_PRIMARY}",
        // Tried in order when the primary fails, e.g. ["anthropic/claude-opus-4-7"].
        fallbacks: [],
      }},
    }},
  }},
  auth: {{
    // "same-kind": never move from a subscription login to a paid API key by itself.
    fallthrough: "same-kind",
  }},
  // Any GGUF file can be a local model, used as "local/my-model":
  // models: {{ providers: {{ local: {{
  //   models: [{{ id: "my-model", path: "/models/x.gguf" }}],
  // }} }} }},
  gateway: {{ bind: "127.0.0.1", port: 18789 }},
}}
"""


@dataclass(frozen=True)
class SetupResult:
    state_dir: Path
    config_file: Path
    created_dir: bool
    wrote_config: bool


def ensure_state_dir(paths: Paths) -> bool:
    """Create the state directory 0700 (tightening it if it exists); True if created."""
    created = not paths.state_dir.exists()
    paths.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(paths.state_dir, 0o700)
    return created


def setup(paths: Paths) -> SetupResult:
    """Create the state dir and a default config; never overwrite an existing config."""
    created = ensure_state_dir(paths)
    wrote = False
    if not paths.config_file.exists():
        paths.config_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two setups racing cannot clobber each other or a user's file.
        try:
            fd = os.open(paths.config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(DEFAULT_CONFIG_TEXT)
            wrote = True
    return SetupResult(paths.state_dir, paths.config_file, created, wrote)

"""The config that `clawgate setup` writes: the built-in defaults, spelled out with comments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clawgate.config._paths import Paths
from clawgate.config._schema import DEFAULT_PRIMARY
from clawgate.fileio import create_exclusive, ensure_private_dir

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
    ensure_private_dir(paths.state_dir)
    return created


def setup(paths: Paths) -> SetupResult:
    """Create the state dir and a default config; never overwrite an existing config."""
    created = ensure_state_dir(paths)
    # The config may live outside the state dir, in a directory the user owns: create it
    # private if missing, but do not change an existing one.
    ensure_private_dir(paths.config_file.parent, tighten=False)
    wrote = create_exclusive(paths.config_file, DEFAULT_CONFIG_TEXT.encode("utf-8"))
    return SetupResult(paths.state_dir, paths.config_file, created, wrote)

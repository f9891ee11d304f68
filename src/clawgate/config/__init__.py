"""Configuration: the state directory, ``clawgate.json``, and the environment.

The environment is read here only, through a mapping the caller passes in (``os.environ``
at the edges, a plain dict in tests).
"""

from clawgate.config._defaults import DEFAULT_CONFIG_TEXT, SetupResult, setup
from clawgate.config._home import (
    codex_home,
    home_dir,
    openclaw_state_dir,
    user_unit_dir,
    xdg_config_home,
)
from clawgate.config._load import (
    ConfigError,
    ConfigWarning,
    LoadedConfig,
    dotted,
    load_config,
    parse_config,
)
from clawgate.config._migrate import migrate
from clawgate.config._paths import Paths, config_digest
from clawgate.config._schema import (
    DEFAULT_LOCAL_MODEL,
    DEFAULT_PRIMARY,
    MAX_BODY_BYTES,
    OAuthSettings,
    ProfileMeta,
    ProviderModel,
    ProviderSettings,
    Settings,
    TelegramSettings,
    Timeouts,
)
from clawgate.config._write import edit_config, rewrite_config

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_LOCAL_MODEL",
    "DEFAULT_PRIMARY",
    "MAX_BODY_BYTES",
    "ConfigError",
    "ConfigWarning",
    "LoadedConfig",
    "OAuthSettings",
    "Paths",
    "ProfileMeta",
    "ProviderModel",
    "ProviderSettings",
    "Settings",
    "SetupResult",
    "TelegramSettings",
    "Timeouts",
    "codex_home",
    "config_digest",
    "dotted",
    "edit_config",
    "home_dir",
    "load_config",
    "migrate",
    "openclaw_state_dir",
    "parse_config",
    "rewrite_config",
    "setup",
    "user_unit_dir",
    "xdg_config_home",
]


def process_environment() -> dict[str, str]:
    """The real environment, read here only; everything else takes a mapping."""
    import os

    return dict(os.environ)


__all__ += ["process_environment"]

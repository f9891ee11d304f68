"""`clawgate models …`: models, their credentials, the decisions of recent turns. The
subcommands load lazily (`_lazy`): `models status` does not import the login flows."""

from __future__ import annotations

import click

from clawgate.cli._lazy import LazyGroup, Table

COMMANDS: Table = {
    "list": (
        "clawgate.cli.models_list",
        "list_models",
        "The configured models: provider, context, capabilities, and whether a usable "
        "profile exists.",
    ),
    "set": (
        "clawgate.cli.models_chain",
        "set_primary",
        "Make REF (provider/model or an alias) the primary model: agents.defaults.model.primary.",
    ),
    "fallbacks": (
        "clawgate.cli.models_chain",
        "fallbacks",
        "The models tried in order when the primary fails (agents.defaults.model.fallbacks).",
    ),
    "aliases": (
        "clawgate.cli.models_chain",
        "aliases",
        "Short names for models, usable wherever a model ref is (agents.defaults.models.*.alias).",
    ),
    "auth": (
        "clawgate.cli.auth",
        "auth_group",
        "Add, list and remove the credentials of each provider (kept in the encrypted vault).",
    ),
    "status": (
        "clawgate.cli.status",
        "status",
        "Each profile: kind, billing, vault state, access validity, refresh grant, cooldowns, "
        "last use and the chain that uses it; then the model chain, the vault key and the "
        "gateway.",
    ),
    "decisions": (
        "clawgate.cli.decisions",
        "decisions",
        "Each turn's candidates in order: attempted, skipped (and why), failed or succeeded.",
    ),
    "health": (
        "clawgate.cli.models_health",
        "health",
        "Every cooldown, block and circuit routing remembers, with its reason and end.",
    ),
}


@click.group("models", cls=LazyGroup, table=COMMANDS)
def models() -> None:
    """Models and the credentials behind them."""

"""Refuse secrets in the config file: it is plain text, and secrets belong in the vault."""

from __future__ import annotations

import re

from clawgate.config._locate import KeyPath

# Key names that only ever hold a secret (compared lower-case, without "_" and "-").
_SECRET_KEYS = frozenset(
    {
        "apikey",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "setuptoken",
        "bottoken",
        "secret",
        "clientsecret",
        "password",
    }
)

# Value shapes of well-known credentials, wherever they appear.
_SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic setup token", re.compile(r"sk-ant-oat\d*-[A-Za-z0-9_-]{8,}")),
    ("an API key", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    ("a Telegram bot token", re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
)


def find_secret(path: KeyPath, value: object) -> str | None:
    """What kind of secret ``value`` at ``path`` looks like, or None."""
    key = path[-1] if path else ""
    named = isinstance(key, str) and key.lower().replace("_", "").replace("-", "") in _SECRET_KEYS
    if named and value not in (None, "", False):
        return "a secret"
    if isinstance(value, str):
        for kind, pattern in _SECRET_VALUES:
            if pattern.search(value):
                return kind
    return None


def vault_command(path: KeyPath, kind: str) -> str:
    """The command that stores this kind of secret in the vault instead."""
    if path[:1] == ("channels",):  # the bot token goes to the vault; people pair after
        return (
            'echo "$TOKEN" | clawgate channels telegram add --token-stdin, then approve '
            "yourself with: clawgate channels telegram pair CODE"
        )
    provider = "<provider>"
    if len(path) > 2 and path[:2] == ("models", "providers"):
        provider = str(path[2])
    if kind == "an Anthropic setup token":
        return "clawgate models auth paste-token --provider anthropic"
    return f"clawgate models auth add --provider {provider} --api-key-stdin"

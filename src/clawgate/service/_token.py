"""The gateway's bearer token: generated once, held in the vault as one of clawgate's own
secrets (not a profile), compared in constant time. ``CLAWGATE_GATEWAY_TOKEN`` overrides the
stored one (docs/configuration.md, "Environment")."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from clawgate.secret import Secret
from clawgate.vault import SecretUnreadable, Vault

__all__ = ["TOKEN_ENV", "TOKEN_SECRET", "gateway_token", "matches"]

TOKEN_ENV = "CLAWGATE_GATEWAY_TOKEN"  # noqa: S105 (a variable name, not a secret)
TOKEN_SECRET = "gateway"  # noqa: S105 (the secret's name in the vault)


def _new() -> Secret:
    return Secret("cg-" + secrets.token_urlsafe(32))


def gateway_token(vault: Vault, env: Mapping[str, str], *, rotate: bool = False) -> Secret:
    """The token, made and stored on first use (or when ``rotate``)."""
    override = env.get(TOKEN_ENV)
    if override and not rotate:
        return Secret(override)
    if not rotate:
        try:
            return vault.ensure_secret(TOKEN_SECRET, _new)
        except SecretUnreadable:
            pass  # edited, or sealed under another vault key: replaced, as a rotation is
    token = _new()
    vault.save_secret(TOKEN_SECRET, token)
    return token


def matches(header: str | None, token: Secret) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.reveal().encode())

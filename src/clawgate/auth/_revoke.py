"""Revoking a stored login at its issuer (RFC 7009) before `logout` deletes it locally.

::

    RevokeFailed(ClawgateError)    the issuer could not be asked, or said no; nothing revoked
                                   for sure. `logout --revoke` then keeps the local login
                                   unless told to delete it anyway.

The refresh token goes first: revoking it ends the grant, and RFC 7009 §2.1 lets the server
revoke the grant's access tokens with it; the access token is revoked next, for servers that
do not. A 200 means revoked or already invalid (§2.2).
"""

from __future__ import annotations

import httpx

from clawgate.auth._renewal import provider_settings
from clawgate.auth.logins import login_spec
from clawgate.auth.oauth import OAuthError
from clawgate.auth.oauth.rfc7009 import revoke
from clawgate.clock import Clock
from clawgate.config import Settings
from clawgate.errors import ClawgateError
from clawgate.vault import OAuthMaterial, Vault

__all__ = ["RevokeFailed", "revoke_login"]


class RevokeFailed(ClawgateError):
    code = "revoke_failed"


async def revoke_login(
    vault: Vault, settings: Settings, profile_id: str, http: httpx.AsyncClient, clock: Clock
) -> list[str]:
    """Revoke ``profile_id``'s tokens at its issuer; the token kinds revoked, in order."""
    stored = vault.load(profile_id)
    material = stored.material
    if not isinstance(material, OAuthMaterial):
        raise RevokeFailed(
            f"{profile_id} is {stored.kind.value.replace('_', ' ')}, not an OAuth login: there "
            "is nothing to revoke at an issuer (revoke a key in the provider's console)"
        )
    try:
        spec = login_spec(stored.provider, provider_settings(settings, stored.provider))
        if spec.client is None:
            raise RevokeFailed(f"{stored.provider}'s login has no OAuth issuer to revoke at")
        client = await spec.client(http, provider_settings(settings, stored.provider))
    except OAuthError as exc:
        raise RevokeFailed(f"cannot reach {stored.provider}'s issuer: {exc.message}") from None
    if client.revocation_endpoint is None:
        raise RevokeFailed(
            f"{stored.provider}'s issuer has no revocation endpoint (RFC 8414 "
            "revocation_endpoint): the login cannot be revoked there"
        )
    done: list[str] = []
    tokens = [("refresh_token", material.refresh), ("access_token", material.access)]
    for hint, token in tokens:
        if token is None:
            continue
        try:
            await revoke(http, client, token, hint=hint, now=clock.now())
        except OAuthError as exc:
            raise RevokeFailed(
                f"the issuer refused to revoke {profile_id}'s {hint.replace('_', ' ')}"
                f"{' (the refresh token was revoked)' if done else ''}: {exc.message}"
            ) from None
        done.append(hint)
    return done

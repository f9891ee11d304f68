"""Token revocation (RFC 7009)."""

from __future__ import annotations

import httpx

from clawgate.auth.oauth._classify import classify_exception, classify_refusal
from clawgate.auth.oauth.rfc6749 import OAuthClient
from clawgate.secret import Secret


async def revoke(
    http: httpx.AsyncClient, client: OAuthClient, token: Secret, *, hint: str, now: float
) -> None:
    """§2.1. A 200 means revoked or already invalid (§2.2); anything else is a `TokenError`."""
    if client.revocation_endpoint is None:
        return
    form = {"token": token.reveal(), "token_type_hint": hint, "client_id": client.client_id}
    try:
        response = await http.post(client.revocation_endpoint, data=form)
    except httpx.TransportError as exc:
        raise classify_exception(exc, endpoint=client.revocation_endpoint) from None
    if not response.is_success:
        raise classify_refusal(
            response.status_code,
            response.headers,
            response.content,
            now=now,
            endpoint=client.revocation_endpoint,
        )

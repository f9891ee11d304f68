"""Any OAuth 2.0 / OIDC issuer, found by discovery from ``oauth.issuer`` + ``oauth.clientId``:
self-hosted gateways, and the test suite's real authorization server."""

from __future__ import annotations

import httpx

from clawgate.auth.logins._spec import LoginSpec, endpoint, issuer
from clawgate.auth.oauth import OAuthClient, OAuthError, discover
from clawgate.catalog import facts
from clawgate.config import ProviderSettings
from clawgate.failures import Failure, FailureClass

DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")


async def oidc_client(http: httpx.AsyncClient, settings: ProviderSettings) -> OAuthClient:
    oauth = settings.oauth
    found_issuer = issuer(settings, None)
    if oauth is None or found_issuer is None or not oauth.client_id:
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                "this provider has no OAuth issuer and client id configured",
                fix="set models.providers.<id>.oauth.issuer and .clientId in the config",
            )
        )
    names = (
        "authorization_endpoint",
        "token_endpoint",
        "device_authorization_endpoint",
        "revocation_endpoint",
    )
    configured = {name: endpoint(settings, name, None) for name in names}
    metadata: dict[str, object] = {}
    if configured["token_endpoint"] is None:
        metadata = await discover(http, found_issuer)
    found = {name: configured[name] or _text(metadata.get(name)) for name in names}
    token_endpoint = found["token_endpoint"]
    if token_endpoint is None:
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                f"the issuer {found_issuer} names no token endpoint",
                fix="set models.providers.<id>.oauth.tokenEndpoint",
            )
        )
    return OAuthClient(
        client_id=oauth.client_id,
        token_endpoint=token_endpoint,
        authorization_endpoint=found["authorization_endpoint"],
        device_authorization_endpoint=found["device_authorization_endpoint"],
        revocation_endpoint=found["revocation_endpoint"],
        issuer=found_issuer,
        scopes=tuple(oauth.scopes) if oauth.scopes is not None else DEFAULT_SCOPES,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def oidc_spec(provider: str, settings: ProviderSettings) -> LoginSpec:
    return LoginSpec(facts(provider, settings), client=oidc_client)

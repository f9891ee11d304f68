"""GitHub Copilot: GitHub's device flow (RFC 8628) for a GitHub token, stored as a `token`
profile; model calls use a short-lived Copilot token made from it and renewed five minutes
before its ``expires_at``."""

from __future__ import annotations

import math

import httpx

from clawgate.auth.logins._spec import LoginSpec, Method, SessionToken, endpoint, issuer
from clawgate.auth.oauth import (
    LoginTools,
    OAuthClient,
    OAuthError,
    device_login,
    get_json,
)
from clawgate.catalog import facts
from clawgate.config import ProviderSettings
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret
from clawgate.vault import Material, TokenMaterial

GITHUB = "https://github.com"
CLIENT_ID = "Iv1.b507a08c87ecfe98"
COPILOT_TOKEN_URL = "https://api.github.com/copilot_internal/v2/token"  # noqa: S105 (a URL)


async def github_client(http: httpx.AsyncClient, settings: ProviderSettings) -> OAuthClient:
    base = issuer(settings, GITHUB) or GITHUB
    client_id = settings.oauth.client_id if settings.oauth is not None else None
    return OAuthClient(
        client_id=client_id or CLIENT_ID,
        token_endpoint=endpoint(settings, "token_endpoint", f"{base}/login/oauth/access_token")
        or "",
        device_authorization_endpoint=endpoint(
            settings, "device_authorization_endpoint", f"{base}/login/device/code"
        ),
        issuer=base,
        scopes=("read:user",),
    )


async def github_login(tools: LoginTools, settings: ProviderSettings, method: Method) -> Material:
    tokens = await device_login(tools, await github_client(tools.http, settings))
    return TokenMaterial(tokens.access_token)


async def copilot_session(
    http: httpx.AsyncClient, settings: ProviderSettings, material: Material, now: float
) -> SessionToken:
    if not isinstance(material, TokenMaterial):
        raise OAuthError(
            Failure(FailureClass.AUTH_DEAD, "a github-copilot profile must hold a GitHub token")
        )
    url = endpoint(settings, "copilot_token_endpoint", COPILOT_TOKEN_URL) or COPILOT_TOKEN_URL
    headers = {"Authorization": f"token {material.token.reveal()}"}
    answer = await get_json(http, url, headers=headers, now=now)
    token = answer.get("token") if isinstance(answer, dict) else None
    expires_at = answer.get("expires_at") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise OAuthError(
            Failure(FailureClass.SERVER_ERROR, "the Copilot token answer has no token")
        )
    api = (answer.get("endpoints") or {}).get("api") if isinstance(answer, dict) else None
    expiry = float(expires_at) if isinstance(expires_at, int | float) else None
    return SessionToken(
        Secret(token),
        expiry if expiry is not None and math.isfinite(expiry) else None,
        api if isinstance(api, str) else None,
    )


GITHUB_COPILOT = LoginSpec(
    facts("github-copilot"),
    token_login=github_login,
    session=copilot_session,
)

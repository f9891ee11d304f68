"""The ChatGPT subscription login (docs/auth.md, "Provider facts", openai-codex).

A browser login on the fixed loopback ports OpenAI's public client is registered for, and
OpenAI's own device login: a user code, a poll that ends in an authorization code plus the
verifier the server made, then an ordinary code exchange. Who is logged in, and on which plan,
comes from the ID token's OpenAI claims.
"""

from __future__ import annotations

import httpx

from clawgate.auth.logins._spec import Identity, LoginSpec, endpoint, issuer, token_claims
from clawgate.auth.oauth import (
    LoginTools,
    OAuthClient,
    OAuthError,
    Pending,
    Redirect,
    TokenError,
    TokenSet,
    exchange_code,
    poll,
    post_json,
)
from clawgate.catalog import facts
from clawgate.config import ProviderSettings
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret

ISSUER = "https://auth.openai.com"
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
SCOPES = ("openid", "profile", "email", "offline_access")
DEVICE_LOGIN_CAP = 15 * 60.0
_AUTH_CLAIM = "https://api.openai.com/auth"
_PROFILE_CLAIM = "https://api.openai.com/profile"
_USERCODE = "/api/accounts/deviceauth/usercode"


async def codex_client(http: httpx.AsyncClient, settings: ProviderSettings) -> OAuthClient:
    base = issuer(settings, ISSUER) or ISSUER
    client_id = settings.oauth.client_id if settings.oauth is not None else None
    scopes = settings.oauth.scopes if settings.oauth is not None else None
    return OAuthClient(
        client_id=client_id or CLIENT_ID,
        token_endpoint=endpoint(settings, "token_endpoint", f"{base}/oauth/token") or "",
        authorization_endpoint=endpoint(
            settings, "authorization_endpoint", f"{base}/oauth/authorize"
        ),
        device_authorization_endpoint=endpoint(
            settings, "device_authorization_endpoint", f"{base}{_USERCODE}"
        ),
        revocation_endpoint=endpoint(settings, "revocation_endpoint", f"{base}/oauth/revoke"),
        issuer=base,
        scopes=tuple(scopes) if scopes is not None else SCOPES,
        authorize_params={
            "id_token_add_organizations": "true",
            "codex_cli_simplified_flow": "true",
            "originator": "clawgate",
        },
    )


def codex_identity(tokens: TokenSet) -> Identity:
    found = token_claims(tokens)
    auth = found.get(_AUTH_CLAIM)
    profile = found.get(_PROFILE_CLAIM)
    auth = auth if isinstance(auth, dict) else {}
    profile = profile if isinstance(profile, dict) else {}
    email = found.get("email") or profile.get("email")
    account, plan = auth.get("chatgpt_account_id"), auth.get("chatgpt_plan_type")
    return Identity(
        account_id=account if isinstance(account, str) else None,
        email=email if isinstance(email, str) else None,
        plan=plan if isinstance(plan, str) else None,
    )


async def codex_device_login(tools: LoginTools, client: OAuthClient) -> TokenSet:
    """OpenAI's device login variant (not RFC 8628 on the wire, same poller)."""
    base = client.issuer or ISSUER
    usercode_url = (
        client.device_authorization_endpoint or f"{base}/api/accounts/deviceauth/usercode"
    )
    started = await post_json(
        tools.http, usercode_url, {"client_id": client.client_id}, now=tools.clock.now()
    )
    started = started if isinstance(started, dict) else {}
    device_auth_id = started.get("device_auth_id")
    user_code = started.get("user_code") or started.get("usercode")
    if not isinstance(device_auth_id, str) or not isinstance(user_code, str):
        raise OAuthError(
            Failure(
                FailureClass.SERVER_ERROR,
                "OpenAI's device login answer has no device_auth_id or user_code",
            )
        )
    tools.ui.show_code(user_code, f"{base}/codex/device", DEVICE_LOGIN_CAP)
    poll_url = f"{base}/api/accounts/deviceauth/token"

    async def check() -> dict[str, object]:
        body = {"device_auth_id": device_auth_id, "user_code": user_code}
        try:
            answer = await post_json(tools.http, poll_url, body, now=tools.clock.now())
        except TokenError as exc:
            # 403/404: not approved yet; a failure on the way is just another wait.
            if exc.failure.status in (403, 404) or exc.failure.kind in _TRANSIENT:
                raise Pending from None
            raise
        return answer if isinstance(answer, dict) else {}

    approved = await poll(
        check,
        interval=_interval(started.get("interval")),
        expires_in=DEVICE_LOGIN_CAP,
        clock=tools.clock,
        sleep=tools.sleep,
    )
    code, verifier = approved.get("authorization_code"), approved.get("code_verifier")
    if not isinstance(code, str) or not isinstance(verifier, str):
        raise OAuthError(
            Failure(
                FailureClass.SERVER_ERROR,
                "OpenAI's device login approval has no authorization_code or code_verifier",
            )
        )
    return await exchange_code(
        tools.http,
        client,
        code=code,
        redirect_uri=f"{base}/deviceauth/callback",
        verifier=Secret(verifier),
        now=tools.clock.now(),
    )


_TRANSIENT = (FailureClass.SERVER_ERROR, FailureClass.NETWORK, FailureClass.TIMEOUT)


def _interval(value: object) -> float:
    # Sent as a string ("5") by OpenAI; as a number elsewhere.
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 5.0
    return seconds if 0 < seconds < 60 else 5.0


OPENAI_CODEX = LoginSpec(
    facts("openai-codex"),
    client=codex_client,
    identity=codex_identity,
    # The public client is registered for these loopback ports and this path only.
    redirect=Redirect(path="/auth/callback", ports=(1455, 1457), host="localhost"),
    device=codex_device_login,
)

"""The OAuth 2.0 framework (RFC 6749): the client's endpoints, the authorization request, the
callback's answer, and token requests and responses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from clawgate.auth.oauth._classify import classify_exception, classify_refusal
from clawgate.auth.oauth._errors import OAuthError, TokenError
from clawgate.auth.oauth.rfc7636 import Pkce
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret


@dataclass(frozen=True)
class OAuthClient:
    """A public client at one issuer (no client secret: RFC 8252 §8.4)."""

    client_id: str
    token_endpoint: str
    authorization_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    issuer: str | None = None
    scopes: tuple[str, ...] = ()
    # Vendor parameters added to every authorization request.
    authorize_params: Mapping[str, str] = field(default_factory=dict)


def authorization_url(client: OAuthClient, *, redirect_uri: str, state: str, pkce: Pkce) -> str:
    """§4.1.1, with the PKCE challenge of RFC 7636 §4.3."""
    if client.authorization_endpoint is None:
        raise OAuthError(
            Failure(
                FailureClass.AUTH_DEAD,
                "this issuer has no authorization endpoint for a browser login",
            )
        )
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(client.scopes),
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
        **client.authorize_params,
    }
    if not client.scopes:
        del params["scope"]
    separator = "&" if urlsplit(client.authorization_endpoint).query else "?"
    return client.authorization_endpoint + separator + urlencode(params)


@dataclass(frozen=True)
class Callback:
    """The parameters of the redirect back to us (§4.1.2, §4.1.2.1, RFC 9207)."""

    code: str | None = None
    state: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None

    @classmethod
    def from_query(cls, query: str) -> Callback:
        values = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        names = ("code", "state", "iss", "error", "error_description")
        return cls(**{k: values[k] for k in names if k in values})

    def accept(self, *, state: str, issuer: str | None) -> str:
        """The authorization code, after checking ``state`` (§10.12) and ``iss`` (RFC 9207
        §2.4) before anything else; `OAuthError` when the answer is not ours or a refusal."""
        if self.state != state:
            raise OAuthError(
                Failure(
                    FailureClass.BAD_REQUEST,
                    "the login answer does not belong to this login (state mismatch)",
                    fix="start the login again and finish it in the browser window it opens",
                )
            )
        if self.iss is not None and issuer is not None and self.iss != issuer:
            raise OAuthError(
                Failure(
                    FailureClass.BAD_REQUEST,
                    f"the login answer came from another issuer ({self.iss}, expected {issuer})",
                    fix="check models.providers.<id>.oauth.issuer in the config",
                )
            )
        if self.error is not None:
            words = self.error_description or self.error
            raise OAuthError(
                Failure(FailureClass.AUTH_DEAD, f"the login was refused: {words}", code=self.error)
            )
        if not self.code:
            raise OAuthError(
                Failure(FailureClass.AUTH_DEAD, "the login answer carries no authorization code")
            )
        return self.code


@dataclass(frozen=True)
class TokenSet:
    """A successful token response (§5.1)."""

    access_token: Secret
    token_type: str = "Bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: float | None = None
    refresh_token: Secret | None = None
    id_token: Secret | None = None
    scope: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _bad_response(endpoint: str, what: str) -> TokenError:
    # A 200 that is not a token response: the issuer is misbehaving, which is transient for
    # us; nothing from it is stored.
    return TokenError(
        Failure(
            FailureClass.SERVER_ERROR,
            f"the token endpoint ({endpoint}) sent a malformed token response: {what}",
        )
    )


def parse_token_response(document: object, *, endpoint: str) -> TokenSet:
    if not isinstance(document, dict):
        raise _bad_response(endpoint, "not a JSON object")
    access = document.get("access_token")
    if not isinstance(access, str) or not access.strip():
        raise _bad_response(endpoint, "access_token is missing or empty")
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() not in ("bearer", "dpop"):
        raise _bad_response(endpoint, "token_type is not Bearer")
    expires_in = document.get("expires_in")
    if expires_in is not None and not (
        isinstance(expires_in, int | float)
        and not isinstance(expires_in, bool)
        and math.isfinite(expires_in)
        and expires_in > 0
    ):
        raise _bad_response(endpoint, "expires_in is not a positive number of seconds")
    secrets: dict[str, Secret | None] = {}
    for name in ("refresh_token", "id_token"):
        value = document.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _bad_response(endpoint, f"{name} is not a non-empty string")
        secrets[name] = Secret(value) if value else None
    id_token = secrets["id_token"]
    if id_token is not None and id_token.reveal().count(".") != 2:
        raise _bad_response(endpoint, "id_token is not a JWT")
    scope = document.get("scope")
    known = {"access_token", "token_type", "expires_in", "refresh_token", "id_token", "scope"}
    return TokenSet(
        access_token=Secret(access),
        token_type=token_type,
        expires_in=float(expires_in) if expires_in is not None else None,
        refresh_token=secrets["refresh_token"],
        id_token=id_token,
        scope=scope if isinstance(scope, str) else None,
        extra={k: v for k, v in document.items() if k not in known and not k.endswith("token")},
    )


async def post_form(
    http: httpx.AsyncClient, endpoint: str, form: Mapping[str, str], *, now: float
) -> Any:
    """POST a form (§3.2, application/x-www-form-urlencoded) and return the JSON answer;
    a refusal or a failure to get one is a classified `TokenError`."""
    return await _post(http, endpoint, now, data=dict(form))


async def post_json(
    http: httpx.AsyncClient, endpoint: str, body: Mapping[str, str], *, now: float
) -> Any:
    """The same for vendor endpoints that take JSON bodies."""
    return await _post(http, endpoint, now, json=dict(body))


async def get_json(
    http: httpx.AsyncClient, endpoint: str, *, headers: Mapping[str, str], now: float
) -> Any:
    """GET a vendor endpoint's JSON answer, with the same classification of refusals."""
    return await _request(http, "GET", endpoint, now, headers=headers)


async def _post(http: httpx.AsyncClient, endpoint: str, now: float, **body: Any) -> Any:
    return await _request(http, "POST", endpoint, now, **body)


async def _request(
    http: httpx.AsyncClient,
    method: str,
    endpoint: str,
    now: float,
    headers: Mapping[str, str] | None = None,
    **body: Any,
) -> Any:
    headers = {"Accept": "application/json", **(headers or {})}
    try:
        response = await http.request(method, endpoint, headers=headers, **body)
    except httpx.TransportError as exc:
        raise classify_exception(exc, endpoint=endpoint) from None
    return _json_answer(response, endpoint, now=now)


def _json_answer(response: httpx.Response, endpoint: str, *, now: float) -> Any:
    if not response.is_success:
        raise classify_refusal(
            response.status_code, response.headers, response.content, now=now, endpoint=endpoint
        )
    try:
        document = response.json()
    except ValueError:
        raise _bad_response(endpoint, "not JSON") from None
    if isinstance(document, dict) and "error" in document and "access_token" not in document:
        # GitHub answers refusals (authorization_pending, …) with status 200.
        raise classify_refusal(
            response.status_code, response.headers, response.content, now=now, endpoint=endpoint
        )
    return document


async def token_request(
    http: httpx.AsyncClient, client: OAuthClient, form: Mapping[str, str], *, now: float
) -> TokenSet:
    """A token request of any grant (§4.1.3, §6, RFC 8628 §3.4) by a public client."""
    document = await post_form(
        http, client.token_endpoint, {**form, "client_id": client.client_id}, now=now
    )
    return parse_token_response(document, endpoint=client.token_endpoint)


async def exchange_code(
    http: httpx.AsyncClient,
    client: OAuthClient,
    *,
    code: str,
    redirect_uri: str,
    verifier: Secret,
    now: float,
) -> TokenSet:
    """§4.1.3 with the PKCE verifier (RFC 7636 §4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier.reveal(),
    }
    return await token_request(http, client, form, now=now)


async def refresh(
    http: httpx.AsyncClient, client: OAuthClient, refresh_token: Secret, *, now: float
) -> TokenSet:
    """§6. The answer may or may not carry a new refresh token."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
    return await token_request(http, client, form, now=now)

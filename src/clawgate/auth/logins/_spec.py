"""What a provider's login is made of: a frozen spec per provider (docs/style.md,
"Registries are tables of frozen specs").

A spec says which login methods exist (the first is the default), how to build the OAuth
client from defaults and config overrides, who a token belongs to, and for GitHub Copilot how
to turn the stored login into the short-lived token that model calls use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import get_args

import httpx

from clawgate.auth._jwt import claims, expiry
from clawgate.auth.oauth import LoginTools, OAuthClient, Redirect, TokenSet
from clawgate.catalog import LoginMethod, ProviderFacts
from clawgate.config import ProviderSettings
from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass
from clawgate.secret import Secret
from clawgate.vault import Material, OAuthMaterial

Method = LoginMethod
METHODS: tuple[Method, ...] = get_args(LoginMethod)


@dataclass(frozen=True)
class Identity:
    account_id: str | None = None
    email: str | None = None
    plan: str | None = None


@dataclass(frozen=True)
class SessionToken:
    """A short-lived token derived from the stored login (GitHub Copilot); held in memory."""

    token: Secret
    expires_at: float | None
    base_url: str | None = None


ClientFactory = Callable[[httpx.AsyncClient, ProviderSettings], Awaitable[OAuthClient]]
DeviceLogin = Callable[[LoginTools, OAuthClient], Awaitable[TokenSet]]
SessionFactory = Callable[
    [httpx.AsyncClient, ProviderSettings, Material, float], Awaitable[SessionToken]
]
TokenLogin = Callable[[LoginTools, ProviderSettings, Method], Awaitable[Material]]


def oidc_identity(tokens: TokenSet) -> Identity:
    found = token_claims(tokens)
    email = found.get("email")
    sub = found.get("sub")
    return Identity(
        account_id=sub if isinstance(sub, str) else None,
        email=email if isinstance(email, str) else None,
    )


def token_claims(tokens: TokenSet) -> dict[str, object]:
    """The ID token's claims, else the access token's when it is a JWT (RFC 7519)."""
    for token in (tokens.id_token, tokens.access_token):
        if token is not None:
            found = claims(token.reveal())
            if found is not None:
                return found
    return {}


@dataclass(frozen=True)
class LoginSpec:
    """How a provider logs in. Which methods it offers, and the command that fixes a dead
    login, are the provider's facts (`clawgate.catalog`)."""

    facts: ProviderFacts
    client: ClientFactory | None = None  # OAuth providers
    identity: Callable[[TokenSet], Identity] = oidc_identity
    redirect: Redirect = field(default_factory=Redirect)
    device: DeviceLogin | None = None  # a vendor device login; None: RFC 8628
    session: SessionFactory | None = None
    token_login: TokenLogin | None = None  # logins that end in a token, not an OAuth grant

    @property
    def provider(self) -> str:
        return self.facts.id

    @property
    def methods(self) -> tuple[Method, ...]:
        return self.facts.logins

    def fix_command(self, method: Method | None = None) -> str:
        return self.facts.fix(method)


class AccountMismatch(ClawgateError):
    code = FailureClass.AUTH_DEAD.value


def material_from_tokens(
    tokens: TokenSet,
    *,
    now: float,
    identity: Callable[[TokenSet], Identity],
    previous: OAuthMaterial | None = None,
) -> OAuthMaterial:
    """The material to store after a login or refresh. The old refresh token is kept when the
    answer has none (RFC 6749 §6); an answer for another account is refused."""
    found = identity(tokens)
    old = previous
    if (
        old is not None
        and old.account_id is not None
        and found.account_id is not None
        and found.account_id != old.account_id
    ):
        raise AccountMismatch(
            "the refreshed login belongs to another account than the stored one",
            fix="log in again for this profile",
        )
    # A JWT's own `exp` is authoritative (docs/auth.md step 1); expires_in otherwise.
    expires_at = expiry(tokens.access_token.reveal())
    if expires_at is None and tokens.expires_in is not None:
        expires_at = now + tokens.expires_in
    return OAuthMaterial(
        access=tokens.access_token,
        refresh=tokens.refresh_token or (old.refresh if old else None),
        expires_at=expires_at,
        id_token=tokens.id_token or (old.id_token if old else None),
        account_id=found.account_id or (old.account_id if old else None),
        email=found.email or (old.email if old else None),
        plan=found.plan or (old.plan if old else None),
    )


def endpoint(settings: ProviderSettings, name: str, default: str | None) -> str | None:
    """An endpoint from ``models.providers.<id>.oauth.<name>``, else the default."""
    oauth = settings.oauth
    value = getattr(oauth, name, None) if oauth is not None else None
    return value if isinstance(value, str) and value else default


def issuer(settings: ProviderSettings, default: str | None) -> str | None:
    found = settings.oauth.issuer if settings.oauth is not None else None
    return (found or default or "").rstrip("/") or None

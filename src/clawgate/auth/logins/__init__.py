"""How each provider logs in: a table of frozen specs, looked up by exact provider id.

Built-ins register through `register`, as a plugin would. A provider that is not built in
but has ``oauth.issuer`` in its config logs in through the generic OIDC spec.
"""

from __future__ import annotations

from clawgate.auth.logins._anthropic import ANTHROPIC
from clawgate.auth.logins._github_copilot import GITHUB_COPILOT
from clawgate.auth.logins._oidc import oidc_spec
from clawgate.auth.logins._openai_codex import OPENAI_CODEX, codex_identity
from clawgate.auth.logins._spec import (
    METHODS,
    AccountMismatch,
    ClientFactory,
    Identity,
    LoginSpec,
    Method,
    SessionFactory,
    SessionToken,
    material_from_tokens,
    oidc_identity,
)
from clawgate.auth.oauth import OAuthError
from clawgate.catalog import facts
from clawgate.config import ProviderSettings
from clawgate.failures import Failure, FailureClass

_SPECS: dict[str, LoginSpec] = {}


def register(spec: LoginSpec) -> None:
    if spec.provider in _SPECS:
        raise ValueError(f"login for {spec.provider!r} is already registered")
    _SPECS[spec.provider] = spec


for _spec in (OPENAI_CODEX, GITHUB_COPILOT, ANTHROPIC):
    register(_spec)


def login_spec(provider: str, settings: ProviderSettings | None) -> LoginSpec:
    """The provider's login; `OAuthError` (bad_request) when it has none."""
    spec = _SPECS.get(provider)
    if spec is not None:
        return spec
    if settings is not None and settings.oauth is not None and settings.oauth.issuer:
        return oidc_spec(provider, settings)
    known = facts(provider, settings)
    if known.credential == "api_key":  # a login cannot help; the key command can
        fix = known.fix()
    else:
        fix = f"set models.providers.{provider}.oauth.issuer and .clientId to log in with OAuth"
    raise OAuthError(
        Failure(FailureClass.BAD_REQUEST, f"provider {provider} has no login", fix=fix)
    )


__all__ = [
    "METHODS",
    "AccountMismatch",
    "ClientFactory",
    "Identity",
    "LoginSpec",
    "Method",
    "SessionFactory",
    "SessionToken",
    "codex_identity",
    "login_spec",
    "material_from_tokens",
    "oidc_identity",
    "register",
]

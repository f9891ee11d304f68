"""What the broker's two renewals (an OAuth refresh, `auth._refresh`; a Copilot session token,
`auth._session`) share about a stored profile (docs/auth.md, "The credential broker", step 7): the
login that renews it, the command that repairs it, which failures are transient, and a dead
login's durable ``needs_login``.

A renewal that ends without a credential raises `Failed`; the broker re-raises it as
`CredentialError`, adding the profile.
"""

from __future__ import annotations

from clawgate.auth.logins import LoginSpec, login_spec
from clawgate.auth.oauth import OAuthError
from clawgate.catalog import facts
from clawgate.config import ProviderSettings, Settings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.vault import ApiKeyMaterial, Held, ProfileStatus, StoredProfile

# Step 7, transient: keep the stored material, keep a token that still works, back off.
TRANSIENT = frozenset(
    {
        FailureClass.SERVER_ERROR,
        FailureClass.RATE_LIMIT,
        FailureClass.TIMEOUT,
        FailureClass.NETWORK,
        FailureClass.OVERLOADED,
    }
)


def provider_settings(settings: Settings, provider: str) -> ProviderSettings:
    return settings.models.providers.get(provider) or ProviderSettings()


def login_of(stored: StoredProfile, settings: Settings) -> LoginSpec | None:
    """The provider's login; None when it has none (not built in, no issuer configured)."""
    try:
        return login_spec(stored.provider, provider_settings(settings, stored.provider))
    except OAuthError:
        return None


def fix_command(stored: StoredProfile, settings: Settings) -> str:
    """The command that gives the profile a working credential again."""
    provider = stored.provider
    if isinstance(stored.material, ApiKeyMaterial):
        return f"replace the key: {facts(provider).key_command()}"
    try:
        spec = login_spec(provider, provider_settings(settings, provider))
    except OAuthError as exc:  # no login for this provider: its own hint says what to set
        return exc.failure.fix or exc.failure.message
    return spec.fix_command()


def still_needs_login(status: ProfileStatus) -> Failure | None:
    """Step 7: a profile marked ``needs_login`` gets no attempt until its material changes."""
    if status.state != "needs_login":
        return None
    message = f"needs a new login: {status.message or 'the login was refused'}"
    return Failure(FailureClass.AUTH_DEAD, message, fix=status.fix)


def dead_login(
    held: Held | None, stored: StoredProfile, settings: Settings, message: str, *, now: float
) -> Failed:
    """Step 7, a dead grant: the refusal with the fix; with the lock ``held``, also the durable
    ``needs_login`` (the material itself is kept)."""
    fix = fix_command(stored, settings)
    if held is not None:
        held.mark(
            ProfileStatus(
                state="needs_login",
                message=message,
                since=now,
                fix=fix,
                last_error=FailureClass.AUTH_DEAD.value,
            )
        )
    return Failed(Failure(FailureClass.AUTH_DEAD, message, fix=fix))

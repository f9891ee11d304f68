"""Auth: the credential broker, logins and profile management (docs/auth.md). Copying logins
from other tools is `clawgate.importers`, above this layer.

OAuth standards live in `clawgate.auth.oauth`; how each provider logs in, in
`clawgate.auth.logins`.
"""

from clawgate.auth._broker import Broker, Credential, CredentialError, material_expiry
from clawgate.auth._httpx_auth import Access, Apply, BrokerAuth, bearer
from clawgate.auth._login import choose_method, login
from clawgate.auth._probe import CredentialCheck, check_credential
from clawgate.auth._profiles import (
    ProfileInputError,
    ProfileView,
    add_api_key,
    check_provider,
    logout,
    paste_token,
    set_order,
    store_profile,
    store_profiles,
    view_profile,
    view_profiles,
)
from clawgate.auth._revoke import RevokeFailed, revoke_login

__all__ = [
    "Access",
    "Apply",
    "Broker",
    "BrokerAuth",
    "Credential",
    "CredentialCheck",
    "CredentialError",
    "ProfileInputError",
    "ProfileView",
    "RevokeFailed",
    "add_api_key",
    "bearer",
    "check_credential",
    "check_provider",
    "choose_method",
    "login",
    "logout",
    "material_expiry",
    "paste_token",
    "revoke_login",
    "set_order",
    "store_profile",
    "store_profiles",
    "view_profile",
    "view_profiles",
]

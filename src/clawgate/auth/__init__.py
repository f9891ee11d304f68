"""Auth: the credential broker, logins, profile management and importers (AUTH.md).

OAuth standards live in `clawgate.auth.oauth`; how each provider logs in, in
`clawgate.auth.logins`.
"""

from clawgate.auth._broker import Broker, Credential, CredentialError, material_expiry
from clawgate.auth._httpx_auth import Access, Apply, BrokerAuth, bearer
from clawgate.auth._imports import (
    SHARED_GRANT_WARNING,
    ImportReport,
    import_codex_cli,
    import_openclaw,
)
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

__all__ = [
    "SHARED_GRANT_WARNING",
    "Access",
    "Apply",
    "Broker",
    "BrokerAuth",
    "Credential",
    "CredentialCheck",
    "CredentialError",
    "ImportReport",
    "ProfileInputError",
    "ProfileView",
    "add_api_key",
    "bearer",
    "check_credential",
    "check_provider",
    "choose_method",
    "import_codex_cli",
    "import_openclaw",
    "login",
    "logout",
    "material_expiry",
    "paste_token",
    "set_order",
    "store_profile",
    "store_profiles",
    "view_profile",
    "view_profiles",
]

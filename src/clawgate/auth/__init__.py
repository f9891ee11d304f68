"""Auth: profile management and importers; the credential broker and OAuth flows build on it."""

from clawgate.auth._imports import (
    SHARED_GRANT_WARNING,
    ImportReport,
    import_codex_cli,
    import_openclaw,
)
from clawgate.auth._profiles import (
    TOKEN_SHAPES,
    ProfileInputError,
    ProfileView,
    add_api_key,
    check_provider,
    logout,
    paste_token,
    set_order,
    store_profile,
    store_profiles,
    view_profiles,
)

__all__ = [
    "SHARED_GRANT_WARNING",
    "TOKEN_SHAPES",
    "ImportReport",
    "ProfileInputError",
    "ProfileView",
    "add_api_key",
    "check_provider",
    "import_codex_cli",
    "import_openclaw",
    "logout",
    "paste_token",
    "set_order",
    "store_profile",
    "store_profiles",
    "view_profiles",
]

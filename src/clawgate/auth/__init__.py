"""Auth: profile management today; the credential broker and OAuth flows build on it."""

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
    view_profiles,
)

__all__ = [
    "TOKEN_SHAPES",
    "ProfileInputError",
    "ProfileView",
    "add_api_key",
    "check_provider",
    "logout",
    "paste_token",
    "set_order",
    "store_profile",
    "view_profiles",
]

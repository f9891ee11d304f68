"""Auth: the credential broker, logins and profile management (docs/auth.md). Copying logins
from other tools is `clawgate.importers`, above this layer.

OAuth standards live in `clawgate.auth.oauth`; how each provider logs in, in
`clawgate.auth.logins`.

Each name is imported from its module when first asked for (PEP 562): reading a profile's
state (`models status`) does not load the broker, the login flows or httpx."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawgate.lazy import lazy_exports

if TYPE_CHECKING:
    from clawgate.auth._broker import Broker, Credential, CredentialError
    from clawgate.auth._expiry import material_expiry
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

_WHERE = {
    "Broker": "_broker",
    "Credential": "_broker",
    "CredentialError": "_broker",
    "material_expiry": "_expiry",
    "Access": "_httpx_auth",
    "Apply": "_httpx_auth",
    "BrokerAuth": "_httpx_auth",
    "bearer": "_httpx_auth",
    "choose_method": "_login",
    "login": "_login",
    "CredentialCheck": "_probe",
    "check_credential": "_probe",
    "ProfileInputError": "_profiles",
    "ProfileView": "_profiles",
    "add_api_key": "_profiles",
    "check_provider": "_profiles",
    "logout": "_profiles",
    "paste_token": "_profiles",
    "set_order": "_profiles",
    "store_profile": "_profiles",
    "store_profiles": "_profiles",
    "view_profile": "_profiles",
    "view_profiles": "_profiles",
    "RevokeFailed": "_revoke",
    "revoke_login": "_revoke",
}

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


__getattr__ = lazy_exports(__name__, _WHERE)

"""`models auth login`: run a provider's login, then store the result as a profile.

Nothing is stored until the login has fully succeeded; a new login replaces the profile's
material, which clears its ``needs_login`` status (the vault resets it on every save).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clawgate.auth._profiles import ProfileInputError, _profile_id, store_profiles
from clawgate.auth.logins import LoginSpec, Method, login_spec, material_from_tokens
from clawgate.auth.oauth import LoginTools, OAuthError, TokenSet, browser_login, device_login
from clawgate.config import ProviderSettings, Settings
from clawgate.failures import Failure, FailureClass
from clawgate.vault import Material, OAuthMaterial, StoredProfile, Vault


def choose_method(spec: LoginSpec, method: Method | None, device_code: bool) -> Method:
    """The method to use; a clear refusal for one the provider does not have."""
    if device_code:
        if method not in (None, "device-code"):
            raise ProfileInputError("--device-code and --method name different login methods")
        method = "device-code"
    if method is None:
        return spec.methods[0]
    if method not in spec.methods:
        offered = ", ".join(spec.methods)
        what = "no device login" if method == "device-code" else f"no {method} login"
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                f"provider {spec.provider} has {what} (it offers: {offered})",
                fix=spec.fix_command(method=spec.methods[0]),
            )
        )
    return method


async def run_login(
    tools: LoginTools, spec: LoginSpec, settings: ProviderSettings, method: Method
) -> Material:
    if spec.token_login is not None:
        return await spec.token_login(tools, settings, method)
    assert spec.client is not None, f"login spec {spec.provider} has neither client nor login"
    client = await spec.client(tools.http, settings)
    tokens: TokenSet
    if method == "device-code":
        device = spec.device or device_login
        tokens = await device(tools, client)
    else:
        tokens = await browser_login(tools, client, spec.redirect)
    return material_from_tokens(tokens, now=tools.clock.now(), identity=spec.identity)


async def login(
    tools: LoginTools,
    vault: Vault,
    settings: Settings,
    config_file: Path,
    env: Mapping[str, str],
    provider: str,
    *,
    method: Method | None = None,
    device_code: bool = False,
    profile_id: str | None = None,
    set_default: bool = False,
) -> StoredProfile:
    provider_settings = settings.models.providers.get(provider) or ProviderSettings()
    spec = login_spec(provider, provider_settings)
    chosen = choose_method(spec, method, device_code)
    if profile_id is not None:
        _profile_id(provider, profile_id, "")  # refuse a bad id before the person logs in
    material = await run_login(tools, spec, provider_settings, chosen)
    email = material.email if isinstance(material, OAuthMaterial) else None
    name = email or ("manual" if spec.provider == "anthropic" else "default")
    profile_id = _profile_id(provider, profile_id, name)

    def record(raw: dict[str, Any]) -> None:
        auth = raw.setdefault("auth", {})
        if email:
            auth.setdefault("profiles", {}).setdefault(profile_id, {})["email"] = email
        order = auth.setdefault("order", {})
        if set_default:
            ids = [p for p in order.get(provider, []) if p != profile_id]
            order[provider] = [profile_id, *ids]

    entries = [(profile_id, provider, material)]
    return store_profiles(vault, config_file, env, entries, also=record)[0]

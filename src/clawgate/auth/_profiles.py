"""Profile management: store material in the vault, record metadata and order in the config.

The vault holds the secret; ``auth.profiles`` in the config holds only provider, mode and
email, so the config can be read, shared and diffed without leaking anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from clawgate import names
from clawgate.catalog import facts, known
from clawgate.config import ProfileMeta, Settings, edit_config, load_config
from clawgate.errors import ClawgateError
from clawgate.secret import Secret, mask
from clawgate.vault import (
    ApiKeyMaterial,
    BadProfileId,
    KeyUnavailable,
    Kind,
    Material,
    OAuthMaterial,
    StoredProfile,
    Tampered,
    TokenMaterial,
    Unresolved,
    Vault,
)
from clawgate.views import to_json

# A change to the raw config document, applied inside `edit_config`.
ConfigChange = Callable[[dict[str, Any]], None]


class ProfileInputError(ClawgateError):
    code = "bad_request"
    exit_code = 2


def check_provider(provider: str) -> str:
    return names.check_provider_id(provider)


def _profile_id(provider: str, profile_id: str | None, default_name: str) -> str:
    profile_id = names.check_profile_id(profile_id or f"{provider}:{default_name}")
    if profile_id.split(":", 1)[0] != provider:
        raise ProfileInputError(
            f"profile {profile_id} does not belong to provider {provider}",
            fix=f"name it {provider}:<name>",
        )
    return profile_id


def store_profiles(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    entries: list[tuple[str, str, Material]],
    also: ConfigChange | None = None,
) -> list[StoredProfile]:
    """Save each (profile id, provider, material), then record all their metadata, and
    ``also``'s changes, in one config edit. A config that cannot be loaded is reported
    before anything is stored, so the two never disagree."""
    load_config(config_file, env)
    for profile_id, _, _ in entries:  # every id before any write: an import stores all or none
        names.check_profile_id(profile_id)
    stored = [
        vault.save(profile_id, provider, material) for profile_id, provider, material in entries
    ]
    if not stored and also is None:
        return stored

    def change(raw: dict[str, Any]) -> None:
        profiles = raw.setdefault("auth", {}).setdefault("profiles", {})
        for profile in stored:
            entry = profiles.setdefault(profile.profile_id, {})
            entry.update({"provider": profile.provider, "mode": profile.kind.value})
        if also is not None:
            also(raw)

    edit_config(config_file, env, change)
    return stored


def store_profile(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    profile_id: str,
    provider: str,
    material: Material,
) -> StoredProfile:
    return store_profiles(vault, config_file, env, [(profile_id, provider, material)])[0]


def add_api_key(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    provider: str,
    key: str,
    profile_id: str | None = None,
) -> StoredProfile:
    check_provider(provider)
    key = key.strip()
    if not key or any(c.isspace() for c in key):
        raise ProfileInputError(
            "the API key read from standard input is empty or contains spaces",
            fix=facts(provider).key_command(),
        )
    profile_id = _profile_id(provider, profile_id, "default")
    material = ApiKeyMaterial(Secret(key))
    return store_profile(vault, config_file, env, profile_id, provider, material)


def paste_token(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    provider: str,
    token: str,
    *,
    expires_at: float | None,
    profile_id: str | None = None,
) -> StoredProfile:
    check_provider(provider)
    token = token.strip()
    # A paste that does not have the shape the provider documents is refused before storing.
    shape = facts(provider).token_shape
    if not token or any(c.isspace() for c in token):
        raise ProfileInputError("the pasted token is empty or contains spaces")
    if shape is not None and not token.startswith(shape.prefix):
        raise ProfileInputError(
            f"that is not {shape.what}: it should start with {shape.prefix} "
            f"(got one ending {mask(token)})",
            fix=f"paste the whole token: clawgate models auth paste-token --provider {provider}",
        )
    profile_id = _profile_id(provider, profile_id, "manual")
    material = TokenMaterial(Secret(token), expires_at=expires_at)
    return store_profile(vault, config_file, env, profile_id, provider, material)


def logout(vault: Vault, config_file: Path, env: Mapping[str, str], profile_id: str) -> bool:
    """Delete local material and forget the profile in the config. True if anything was
    removed."""
    names.check_profile_id(profile_id)
    load_config(config_file, env)  # a config that cannot be edited: say so before deleting
    removed = vault.delete(profile_id)
    forgotten = False

    def change(raw: dict[str, Any]) -> None:
        nonlocal forgotten
        auth = raw.get("auth") or {}
        if (auth.get("profiles") or {}).pop(profile_id, None) is not None:
            forgotten = True
        for ids in (auth.get("order") or {}).values():
            while profile_id in ids:
                ids.remove(profile_id)
                forgotten = True

    edit_config(config_file, env, change)
    return removed or forgotten


def set_order(
    config_file: Path, env: Mapping[str, str], provider: str, profile_ids: list[str]
) -> None:
    check_provider(provider)
    for profile_id in profile_ids:
        _profile_id(provider, profile_id, "")

    def change(raw: dict[str, Any]) -> None:
        order = raw.setdefault("auth", {}).setdefault("order", {})
        if profile_ids:
            order[provider] = list(dict.fromkeys(profile_ids))
        else:
            order.pop(provider, None)

    edit_config(config_file, env, change)


# What a profile is, for every command that shows one (`models auth list`, `models status`,
# `doctor`, the gateway's status): ok; needs_login (a refresh grant died); unresolved (stored,
# but unreadable as is: not an envelope, another vault key, no key, a bad id); tampered (an
# envelope that fails its binding: edited, copied or rolled back, docs/auth.md); missing
# (configured, nothing stored).
ProfileState = Literal["ok", "needs_login", "unresolved", "tampered", "missing"]


@dataclass(frozen=True)
class ProfileView:
    """What `models auth list` shows of a profile: never more than the last 4 of a secret."""

    profile_id: str
    provider: str
    kind: str | None
    billing: str | None
    state: ProfileState
    detail: str | None = None
    fix: str | None = None
    secret: str | None = None
    expires_at: float | None = None
    email: str | None = None
    generation: int | None = None

    def to_json(self) -> dict[str, Any]:
        return to_json(self, rename={"profile_id": "profile"})


def _hint(material: Material) -> str | None:
    if isinstance(material, OAuthMaterial):
        return material.access.masked()
    if isinstance(material, TokenMaterial):
        return material.token.masked()
    if isinstance(material, ApiKeyMaterial):
        return material.key.masked()
    return None


def view_profiles(vault: Vault, settings: Settings) -> list[ProfileView]:
    """Every profile the vault or the config knows, each with its honest state."""
    configured = settings.auth.profiles
    ids = sorted(set(vault.profile_ids()) | set(configured))
    return [view_profile(vault, profile_id, configured.get(profile_id))[0] for profile_id in ids]


def view_profile(
    vault: Vault, profile_id: str, meta: ProfileMeta | None
) -> tuple[ProfileView, StoredProfile | None]:
    """One profile's view, and what was decrypted for it (None when it cannot be used): the
    one classification (`ProfileState`) every command shows."""
    try:
        stored = vault.load(profile_id)
    except BadProfileId as exc:  # a config key or a file name that is no profile id
        return _unusable(profile_id, meta, "unresolved", exc.message, _BAD_ID_FIX), None
    except Tampered as exc:
        return _unusable(profile_id, meta, "tampered", exc.reason, exc.fix), None
    except Unresolved as exc:
        # Only the absence of the envelope makes it missing: damaged bytes are unresolved.
        state: ProfileState = "unresolved" if vault.exists(profile_id) else "missing"
        return _unusable(profile_id, meta, state, exc.reason, exc.fix), None
    except KeyUnavailable as exc:  # no key at all: every stored profile is unreadable alike
        return _unusable(profile_id, meta, "unresolved", exc.message, exc.fix), None
    material = stored.material
    if stored.provider in known() and not facts(stored.provider).takes(stored.kind.value):
        needs = facts(stored.provider).credential.replace("_", " ")
        kind = stored.kind.value
        detail = (
            f"{'a' if kind == 'token' else 'an'} {kind} credential on provider {stored.provider}, "
            f"which needs "
            f"{needs}: a turn would send it to the wrong endpoint"
        )
        return _unusable(profile_id, meta, "unresolved", detail, _MISFILED_FIX), None
    view = ProfileView(
        profile_id,
        stored.provider,
        stored.kind.value,
        stored.kind.billing,
        stored.status.state,
        detail=stored.status.message,
        fix=stored.status.fix,
        secret=_hint(material),
        expires_at=getattr(material, "expires_at", None),
        email=getattr(material, "email", None) or (meta.email if meta else None),
        generation=stored.generation,
    )
    return view, stored


_MISFILED_FIX = "clawgate doctor --fix (moves a ChatGPT login to openai-codex)"
_BAD_ID_FIX = "rename it in auth.profiles of clawgate.json (or its file in vault/profiles)"


def _unusable(
    profile_id: str,
    meta: ProfileMeta | None,
    state: ProfileState,
    detail: str,
    fix: str | None,
) -> ProfileView:
    mode = Kind(meta.mode) if meta else None
    return ProfileView(
        profile_id,
        meta.provider if meta else profile_id.split(":", 1)[0],
        mode.value if mode else None,
        mode.billing if mode else None,
        state,
        detail=detail,
        fix=fix,
    )

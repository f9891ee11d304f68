"""One OpenClaw auth profile → clawgate material: API keys, tokens, OAuth logins stored
inline or in an encrypted sidecar (``credentials/auth-profiles/<ref>.json``).

Every store OpenClaw has had holds the same document, ``{"version": 1, "profiles": {…}}``
(the oldest files are a flat map whose entries say ``mode`` and ``apiKey``); only where it
lives changed (`clawgate.importers._openclaw_stores`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clawgate import names
from clawgate.auth import material_expiry
from clawgate.config import home_dir, xdg_config_home
from clawgate.errors import ClawgateError
from clawgate.importers._read import Unreadable, read_json
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, Material, MaterialError, OAuthMaterial, TokenMaterial

__all__ = ["Found", "Skip", "entry_material", "openclaw_seed"]

_SEED_ENV = "OPENCLAW_AUTH_PROFILE_SECRET_KEY"


@dataclass(frozen=True)
class Found:
    profile_id: str  # as OpenClaw names it
    provider: str  # as OpenClaw names it
    material: Material
    origin: str


class Skip(Exception):
    """One entry cannot be imported; the reason names no secret."""


def openclaw_seed(env: Mapping[str, str], state_dir: Path) -> str | None:
    """The secret OpenClaw derives its sidecar key from: env first, then its key file."""
    if env.get(_SEED_ENV, "").strip():
        return env[_SEED_ENV].strip()
    home = home_dir(env)
    config_home = xdg_config_home(env)
    for candidate in (
        config_home / "openclaw" / "auth-profile-secret-key",
        home / ".openclaw-auth-profile-secrets" / "auth-profile-secret-key",
    ):
        if candidate.resolve().is_relative_to(state_dir.resolve()):
            continue  # OpenClaw never keeps the key beside the secrets it protects
        try:
            seed = candidate.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if seed:
            return seed
    return None


def _millis(value: object) -> float | None:
    """OpenClaw stores expiry in milliseconds since the epoch."""
    if isinstance(value, int | float) and value > 0:
        return value / 1000 if value > 10**11 else float(value)
    return None


def entry_material(
    profile_id: str, raw: dict[str, Any], state_dir: Path, seed: str | None
) -> tuple[str, Material]:
    """(provider, material) of one entry; `Skip` naming why it cannot be imported."""
    try:
        names.check_profile_id(profile_id)
        return _entry(profile_id, raw, state_dir, seed)
    except MaterialError as exc:
        raise Skip(str(exc)) from None
    except ClawgateError as exc:
        raise Skip(exc.message) from None


def _entry(
    profile_id: str, raw: dict[str, Any], state_dir: Path, seed: str | None
) -> tuple[str, Material]:
    kind = raw.get("type", raw.get("mode"))  # "mode" is the legacy name
    provider = raw.get("provider") or profile_id.split(":", 1)[0]
    if not isinstance(provider, str):
        raise Skip("no provider")
    names.check_provider_id(provider)
    if kind == "api_key":
        key = raw.get("key", raw.get("apiKey"))
        if not isinstance(key, str):
            raise Skip("the key is a secret reference (env/file/exec), not a value")
        return provider, ApiKeyMaterial(Secret(key))
    if kind == "token":
        token = raw.get("token")
        if not isinstance(token, str):
            raise Skip("the token is a secret reference (env/file/exec), not a value")
        return provider, TokenMaterial(Secret(token), _millis(raw.get("expires")))
    if kind == "oauth":
        secrets = {
            k: raw[k] for k in ("access", "refresh", "idToken") if isinstance(raw.get(k), str)
        }
        ref = raw.get("oauthRef")
        if not secrets.get("access") and isinstance(ref, dict):
            secrets = _sidecar(profile_id, provider, ref, state_dir, seed)
        access = secrets.get("access")
        if not access:
            raise Skip("no access token stored")
        material = OAuthMaterial(
            access=Secret(access),
            refresh=Secret(secrets["refresh"]) if secrets.get("refresh") else None,
            expires_at=_millis(raw.get("expires")),
            id_token=Secret(secrets["idToken"]) if secrets.get("idToken") else None,
            account_id=raw.get("accountId") if isinstance(raw.get("accountId"), str) else None,
            email=raw.get("email") if isinstance(raw.get("email"), str) else None,
        )
        if material.expires_at is None:  # the access token may say (a JWT's exp)
            material = replace(material, expires_at=material_expiry(material))
        return provider, material
    raise Skip(f"unknown credential type {kind!r}")


def _sidecar(
    profile_id: str, provider: str, ref: dict[str, Any], state_dir: Path, seed: str | None
) -> dict[str, str]:
    """Decrypt ``credentials/auth-profiles/<ref.id>.json`` (AES-256-GCM, base64url fields)."""
    ref_id = ref.get("id")
    if not names.is_foreign_id(ref_id, 32):  # it becomes a file name: nothing to climb with
        raise Skip("its encrypted sidecar reference is malformed")
    assert isinstance(ref_id, str)
    path = state_dir / "credentials" / "auth-profiles" / f"{ref_id}.json"
    try:
        outer = read_json(path)
    except FileNotFoundError:
        raise Skip(f"its encrypted sidecar {path.name} is missing") from None
    except Unreadable as exc:
        raise Skip(str(exc)) from None
    if seed is None:
        raise Skip(
            "cannot decrypt its sidecar: no OpenClaw key (set OPENCLAW_AUTH_PROFILE_SECRET_KEY "
            "or keep ~/.config/openclaw/auth-profile-secret-key)"
        )
    encrypted = outer.get("encrypted") if isinstance(outer, dict) else None
    try:
        if not isinstance(encrypted, dict):
            raise TypeError("no encrypted object")
        iv, tag, ct = (_b64url(encrypted[k]) for k in ("iv", "tag", "ciphertext"))
        key = hashlib.sha256(f"openclaw:auth-profile-oauth:{seed}".encode()).digest()
        aad = f"{ref_id}\0{profile_id}\0{provider}".encode()
        plain = json.loads(AESGCM(key).decrypt(iv, ct + tag, aad))
    except (KeyError, TypeError, binascii.Error, ValueError, InvalidTag):
        raise Skip(
            "cannot decrypt its sidecar (wrong OpenClaw key, or the file is damaged)"
        ) from None
    if not isinstance(plain, dict):
        raise Skip("its sidecar holds no tokens")
    return {k: plain[k] for k in ("access", "refresh", "idToken") if isinstance(plain.get(k), str)}


def _b64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

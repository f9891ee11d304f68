"""Read-only importers of credentials from other tools: OpenClaw and the Codex CLI.

They copy; they never write to the source. A login copied this way is still refreshed by the
tool it came from, and refresh tokens rotate: two tools refreshing one grant log the user
out. The report says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import pyjson5
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clawgate.auth._jwt import claims, expiry
from clawgate.auth._profiles import ConfigChange, store_profiles
from clawgate.config import home_dir, xdg_config_home
from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    Material,
    MaterialError,
    OAuthMaterial,
    TokenMaterial,
    Vault,
    check_profile_id,
)
from clawgate.vault import VaultError as _VaultError
from clawgate.views import to_json

SHARED_GRANT_WARNING = (
    "The source tool still holds these logins and will keep refreshing them. Refresh tokens "
    "rotate, so two tools refreshing one login sign you out: stop the other tool from using "
    "them, or log in to clawgate separately."
)
_SEED_ENV = "OPENCLAW_AUTH_PROFILE_SECRET_KEY"
_CODEX_CLAIMS = "https://api.openai.com/auth"
_CODEX_PROFILE = "https://api.openai.com/profile"


@dataclass
class ImportReport:
    source: Path
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    config: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            **to_json(self),
            "skipped": [{"profile": what, "reason": why} for what, why in self.skipped],
            "warning": SHARED_GRANT_WARNING if self.imported else None,
        }


@dataclass(frozen=True)
class _Found:
    profile_id: str
    provider: str
    material: Material


class _Skip(Exception):
    """One entry cannot be imported; the reason names no secret."""


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: foreign files are untrusted."""
    return value if isinstance(value, dict) else {}


def _read_json(path: Path) -> Any:
    try:
        return pyjson5.decode(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, pyjson5.Json5Exception):
        raise _Skip(f"{path} is not readable JSON") from None


def _store(
    vault: Vault,
    config_file: Path,
    env: Mapping[str, str],
    found: Iterable[_Found | tuple[str, str]],
    report: ImportReport,
    also: ConfigChange | None = None,
) -> None:
    """Store what was found in one go: one config edit (with ``also``, other settings the
    import copies), so ``clawgate.json.bak`` keeps the text from before the import."""
    batch: dict[str, _Found] = {}
    existing = set(vault.profile_ids())
    for item in found:
        if isinstance(item, tuple):
            report.skipped.append(item)
        elif item.profile_id in existing or item.profile_id in batch:
            report.skipped.append((item.profile_id, "already in clawgate's vault (kept as is)"))
        else:
            batch[item.profile_id] = item
    entries = [(f.profile_id, f.provider, f.material) for f in batch.values()]
    store_profiles(vault, config_file, env, entries, also=also)
    report.imported.extend(batch)


# OpenClaw -----------------------------------------------------------------------------------


def import_openclaw(
    vault: Vault, config_file: Path, env: Mapping[str, str], state_dir: Path
) -> ImportReport:
    report = ImportReport(state_dir)
    stores = sorted(state_dir.glob("agents/*/agent/auth-profiles.json"))
    if not stores and not (state_dir / "openclaw.json").exists():
        raise _VaultError(
            f"no OpenClaw state found in {state_dir}",
            fix="point at it: clawgate import openclaw --state-dir <dir>",
        )
    seed = _openclaw_seed(env, state_dir)
    found = chain.from_iterable(_openclaw_profiles(store, state_dir, seed) for store in stores)
    settings = _openclaw_config(state_dir / "openclaw.json", report)
    _store(vault, config_file, env, found, report, also=settings)
    return report


def _openclaw_seed(env: Mapping[str, str], state_dir: Path) -> str | None:
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


def _openclaw_profiles(
    store: Path, state_dir: Path, seed: str | None
) -> Iterator[_Found | tuple[str, str]]:
    try:
        data = _read_json(store)
    except _Skip as exc:
        yield (str(store), str(exc))
        return
    if not isinstance(data, dict):
        yield (str(store), "not an auth-profiles store")
        return
    # Current stores nest entries under "profiles"; legacy ones are a flat map.
    entries = _obj(data.get("profiles")) or data
    for profile_id, raw in entries.items():
        if not isinstance(raw, dict):
            continue
        try:
            yield _openclaw_entry(profile_id, raw, state_dir, seed)
        except _Skip as exc:
            yield (profile_id, str(exc))
        except (MaterialError, _VaultError) as exc:
            yield (profile_id, str(exc))


def _millis(value: object) -> float | None:
    """OpenClaw stores expiry in milliseconds since the epoch."""
    if isinstance(value, int | float) and value > 0:
        return value / 1000 if value > 10**11 else float(value)
    return None


def _openclaw_entry(
    profile_id: str, raw: dict[str, Any], state_dir: Path, seed: str | None
) -> _Found:
    check_profile_id(profile_id)
    kind = raw.get("type", raw.get("mode"))  # "mode" is the legacy name
    provider = raw.get("provider") or profile_id.split(":", 1)[0]
    if not isinstance(provider, str):
        raise _Skip("no provider")
    if kind == "api_key":
        key = raw.get("key", raw.get("apiKey"))
        if not isinstance(key, str):
            raise _Skip("the key is a secret reference (env/file/exec), not a value")
        return _Found(profile_id, provider, ApiKeyMaterial(Secret(key)))
    if kind == "token":
        token = raw.get("token")
        if not isinstance(token, str):
            raise _Skip("the token is a secret reference (env/file/exec), not a value")
        return _Found(
            profile_id, provider, TokenMaterial(Secret(token), _millis(raw.get("expires")))
        )
    if kind == "oauth":
        secrets = {
            k: raw[k] for k in ("access", "refresh", "idToken") if isinstance(raw.get(k), str)
        }
        ref = raw.get("oauthRef")
        if not secrets.get("access") and isinstance(ref, dict):
            secrets = _openclaw_sidecar(profile_id, provider, ref, state_dir, seed)
        access = secrets.get("access")
        if not access:
            raise _Skip("no access token stored")
        material = OAuthMaterial(
            access=Secret(access),
            refresh=Secret(secrets["refresh"]) if secrets.get("refresh") else None,
            expires_at=_millis(raw.get("expires")) or expiry(access),
            id_token=Secret(secrets["idToken"]) if secrets.get("idToken") else None,
            account_id=raw.get("accountId") if isinstance(raw.get("accountId"), str) else None,
            email=raw.get("email") if isinstance(raw.get("email"), str) else None,
        )
        return _Found(profile_id, provider, material)
    raise _Skip(f"unknown credential type {kind!r}")


def _openclaw_sidecar(
    profile_id: str, provider: str, ref: dict[str, Any], state_dir: Path, seed: str | None
) -> dict[str, str]:
    """Decrypt ``credentials/auth-profiles/<ref.id>.json`` (AES-256-GCM, base64url fields)."""
    ref_id = ref.get("id")
    if not isinstance(ref_id, str) or len(ref_id) != 32:
        raise _Skip("its encrypted sidecar reference is malformed")
    path = state_dir / "credentials" / "auth-profiles" / f"{ref_id}.json"
    try:
        outer = _read_json(path)
    except FileNotFoundError:
        raise _Skip(f"its encrypted sidecar {path.name} is missing") from None
    if seed is None:
        raise _Skip(
            "cannot decrypt its sidecar: no OpenClaw key (set OPENCLAW_AUTH_PROFILE_SECRET_KEY "
            "or keep ~/.config/openclaw/auth-profile-secret-key)"
        )
    encrypted = outer.get("encrypted") if isinstance(outer, dict) else None
    try:
        assert isinstance(encrypted, dict)
        iv, tag, ct = (_b64url(encrypted[k]) for k in ("iv", "tag", "ciphertext"))
        key = hashlib.sha256(f"openclaw:auth-profile-oauth:{seed}".encode()).digest()
        aad = f"{ref_id}\0{profile_id}\0{provider}".encode()
        plain = json.loads(AESGCM(key).decrypt(iv, ct + tag, aad))
    except (AssertionError, KeyError, TypeError, binascii.Error, ValueError, InvalidTag):
        raise _Skip(
            "cannot decrypt its sidecar (wrong OpenClaw key, or the file is damaged)"
        ) from None
    if not isinstance(plain, dict):
        raise _Skip("its sidecar holds no tokens")
    return {k: plain[k] for k in ("access", "refresh", "idToken") if isinstance(plain.get(k), str)}


def _b64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _openclaw_config(source: Path, report: ImportReport) -> ConfigChange | None:
    """The change that copies the model chain, aliases and profile order, leaving
    clawgate's own choices alone; None when there is nothing to copy."""
    try:
        data = _read_json(source)
    except FileNotFoundError:
        return None
    except _Skip as exc:
        report.skipped.append(("openclaw.json", str(exc)))
        return None
    if not isinstance(data, dict):
        report.skipped.append(("openclaw.json", "not an object"))
        return None
    defaults = _obj(_obj(data.get("agents")).get("defaults"))
    model = defaults.get("model")
    if isinstance(model, str):
        model = {"primary": model}
    aliases = _obj(defaults.get("models"))
    order = _obj(data.get("auth")).get("order")

    def change(raw: dict[str, Any]) -> None:
        target = raw.setdefault("agents", {}).setdefault("defaults", {})
        if isinstance(model, dict) and "model" not in target:
            picked = {k: model[k] for k in ("primary", "fallbacks") if k in model}
            if picked:
                target["model"] = picked
                report.config.append("agents.defaults.model")
        for ref, options in aliases.items():
            if isinstance(options, dict) and isinstance(options.get("alias"), str):
                entry = target.setdefault("models", {}).setdefault(ref, {})
                if "alias" not in entry:
                    entry["alias"] = options["alias"]
                    report.config.append(f"agents.defaults.models[{ref!r}].alias")
        if isinstance(order, dict):
            auth_order = raw.setdefault("auth", {}).setdefault("order", {})
            for provider, ids in order.items():
                if isinstance(ids, list) and provider not in auth_order:
                    auth_order[provider] = [i for i in ids if isinstance(i, str)]
                    report.config.append(f"auth.order[{provider!r}]")

    return change


# Codex CLI ----------------------------------------------------------------------------------


def import_codex_cli(
    vault: Vault, config_file: Path, env: Mapping[str, str], codex_home: Path
) -> ImportReport:
    report = ImportReport(codex_home / "auth.json")
    try:
        data = _read_json(report.source)
    except FileNotFoundError:
        raise _VaultError(
            f"no Codex CLI login found: {report.source} does not exist",
            fix="point at it: clawgate import codex-cli --codex-home <dir>",
        ) from None
    except _Skip as exc:
        raise _VaultError(str(exc), fix="log in with the Codex CLI again, then retry") from None
    _store(vault, config_file, env, _codex_entries(data), report)
    return report


def _codex_entries(data: object) -> Iterator[_Found | tuple[str, str]]:
    if not isinstance(data, dict):
        yield ("auth.json", "not a Codex auth file")
        return
    api_key = data.get("OPENAI_API_KEY")
    if isinstance(api_key, str) and api_key.strip():
        yield _Found("openai:codex-cli", "openai", ApiKeyMaterial(Secret(api_key.strip())))
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return
    access, refresh = tokens.get("access_token"), tokens.get("refresh_token")
    id_token = tokens.get("id_token")
    if not isinstance(access, str) or not access:
        yield ("openai-codex", "auth.json has no access token")
        return
    identity = claims(id_token) if isinstance(id_token, str) else None
    if identity is None:
        identity = claims(access) or {}
    auth_claims = _obj(identity.get(_CODEX_CLAIMS))
    profile_claims = (claims(access) or {}).get(_CODEX_PROFILE)
    email = identity.get("email")
    if not isinstance(email, str) and isinstance(profile_claims, dict):
        email = profile_claims.get("email")
    account = tokens.get("account_id") or auth_claims.get("chatgpt_account_id")
    try:
        material = OAuthMaterial(
            access=Secret(access),
            refresh=Secret(refresh) if isinstance(refresh, str) and refresh else None,
            expires_at=expiry(access),
            id_token=Secret(id_token) if isinstance(id_token, str) and id_token else None,
            account_id=account if isinstance(account, str) else None,
            email=email if isinstance(email, str) else None,
            plan=plan if isinstance(plan := auth_claims.get("chatgpt_plan_type"), str) else None,
        )
    except MaterialError as exc:
        yield ("openai-codex", str(exc))
        return
    name = email if isinstance(email, str) and email else "codex-cli"
    yield _Found(f"openai-codex:{name}", "openai-codex", material)

"""`clawgate import codex-cli`: the ChatGPT login (and API key, if any) of the Codex CLI,
from ``$CODEX_HOME/auth.json``, read-only."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from clawgate.auth import material_expiry
from clawgate.importers._read import Unreadable, obj, read_json
from clawgate.importers._report import ImportFailed, ImportReport, ProfileLine
from clawgate.importers._store import Candidate, store
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, MaterialError, OAuthMaterial, Vault

__all__ = ["import_codex_cli"]

_CODEX_CLAIMS = "https://api.openai.com/auth"
_CODEX_PROFILE = "https://api.openai.com/profile"


def import_codex_cli(
    vault: Vault, config_file: Path, env: Mapping[str, str], codex_home: Path
) -> ImportReport:
    report = ImportReport(codex_home / "auth.json")
    try:
        data = read_json(report.source)
    except FileNotFoundError:
        raise ImportFailed(
            f"no Codex CLI login found: {report.source} does not exist",
            fix="point at it: clawgate import codex-cli --codex-home <dir>",
        ) from None
    except Unreadable as exc:
        raise ImportFailed(str(exc), fix="log in with the Codex CLI again, then retry") from None
    store(vault, config_file, env, list(_entries(data, report)), report)
    return report


def _claims(token: object) -> dict[str, Any] | None:
    """A JWT's payload (RFC 7519, 7.2 step 7), unverified: only to read who it names."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    part = token.split(".")[1]
    try:
        found = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _entries(data: object, report: ImportReport) -> Iterator[Candidate]:
    origin = "auth.json"
    if not isinstance(data, dict):
        report.skip(origin, "not a Codex auth file")
        return
    api_key = data.get("OPENAI_API_KEY")
    if isinstance(api_key, str) and api_key.strip():
        line = ProfileLine("openai:codex-cli", "auth.json (OPENAI_API_KEY)", "api_key")
        yield line, "openai:codex-cli", "openai", ApiKeyMaterial(Secret(api_key.strip()))
    tokens = data.get("tokens")
    if not isinstance(tokens, dict):
        return
    access, refresh = tokens.get("access_token"), tokens.get("refresh_token")
    id_token = tokens.get("id_token")
    if not isinstance(access, str) or not access:
        report.skip("openai-codex", "auth.json has no access token")
        return
    identity = _claims(id_token) or _claims(access) or {}
    auth_claims = obj(identity.get(_CODEX_CLAIMS))
    profile_claims = obj((_claims(access) or {}).get(_CODEX_PROFILE))
    email = identity.get("email") or profile_claims.get("email")
    account = tokens.get("account_id") or auth_claims.get("chatgpt_account_id")
    plan = auth_claims.get("chatgpt_plan_type")
    try:
        material = OAuthMaterial(
            access=Secret(access),
            refresh=Secret(refresh) if isinstance(refresh, str) and refresh else None,
            expires_at=None,
            id_token=Secret(id_token) if isinstance(id_token, str) and id_token else None,
            account_id=account if isinstance(account, str) else None,
            email=email if isinstance(email, str) else None,
            plan=plan if isinstance(plan, str) else None,
        )
    except MaterialError as exc:
        report.skip("openai-codex", str(exc))
        return
    material = replace(material, expires_at=material_expiry(material))
    name = email if isinstance(email, str) and email else "codex-cli"
    line = ProfileLine(f"openai-codex:{name}", "auth.json (tokens)", "oauth")
    yield line, f"openai-codex:{name}", "openai-codex", material

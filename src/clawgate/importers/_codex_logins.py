"""A ChatGPT login filed under ``openai`` becomes clawgate's ``openai-codex``, and whatever
used it follows.

Current OpenClaw names a ChatGPT subscription login ``openai:<email>`` (provider ``openai``,
mode ``oauth``, listed under ``auth.order.openai``) and sends ``openai/*`` refs that use it to
the Codex backend. clawgate's ``openai`` is the API-key provider (api.openai.com), which
cannot use that token; its provider for the login is ``openai-codex``. So the login is moved
(``openai:me@x`` → ``openai-codex:me@x``), its place in ``auth.order`` with it, and each
``openai/<model>`` ref of the chain becomes ``openai-codex/<model>``. An ``openai`` API key
stays ``openai``: where one is kept too, its ref stays in the chain, right after the
subscription's when OpenClaw tried the login first, else right before it.

The importer applies this to what it copies, and ``doctor --fix`` to a clawgate.json and
vault that already hold such a login. Both work on a decoded config (same keys in OpenClaw's
file and clawgate's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["API", "CODEX", "codex_id", "follow_logins", "moves_to_codex"]

API = "openai"
CODEX = "openai-codex"


def moves_to_codex(provider: str, kind: str) -> bool:
    """An OAuth login on the API-key provider: a ChatGPT subscription login."""
    return provider == API and kind == "oauth"


def codex_id(profile_id: str) -> str:
    return f"{CODEX}:{profile_id.partition(':')[2] or 'default'}"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def follow_logins(raw: dict[str, Any], moved: Mapping[str, str], keeps_api_key: bool) -> list[str]:
    """Rename the ``moved`` logins ({old id: new id}) everywhere ``raw`` names them and move
    the refs that used them; the changes in words. Nothing moved, nothing changed."""
    if not moved:
        return []
    changes: list[str] = []
    login_first = _order(raw, moved, changes)
    _profiles(raw, moved, changes)
    _refs(raw, keeps_api_key, login_first, changes, ", ".join(sorted(moved)))
    return changes


def _order(raw: dict[str, Any], moved: Mapping[str, str], changes: list[str]) -> bool:
    """Move the logins' places from ``auth.order.openai`` to ``.openai-codex``; whether the
    order tried a login before any key (no order: it did, as clawgate and OpenClaw do)."""
    order = _dict(_dict(raw.get("auth")).get("order"))
    ids = order.get(API)
    if not isinstance(ids, list):
        return True
    login_first = not ids or ids[0] in moved
    moving = [moved[i] for i in ids if i in moved]
    if not moving:
        return login_first
    existing = order.get(CODEX)
    order[CODEX] = list(dict.fromkeys([*(existing if isinstance(existing, list) else []), *moving]))
    order[API] = [i for i in ids if i not in moved]
    if not order[API]:
        del order[API]
    changes.append(f"auth.order: {', '.join(moving)} moved from {API} to {CODEX}")
    return login_first


def _profiles(raw: dict[str, Any], moved: Mapping[str, str], changes: list[str]) -> None:
    profiles = _dict(_dict(raw.get("auth")).get("profiles"))
    for old, new in moved.items():
        if old in profiles:
            meta = _dict(profiles.pop(old))
            profiles[new] = {**meta, "provider": CODEX, "mode": "oauth"}
            changes.append(f"auth.profiles: {old} → {new}")


def _refs(
    raw: dict[str, Any], keeps_api_key: bool, login_first: bool, changes: list[str], logins: str
) -> None:
    defaults = _dict(_dict(raw.get("agents")).get("defaults"))
    selection = defaults.get("model")
    if isinstance(selection, str):
        selection = defaults["model"] = {"primary": selection}
    selection = _dict(selection)
    fallbacks = selection.get("fallbacks")
    chain = [selection.get("primary"), *(fallbacks if isinstance(fallbacks, list) else [])]
    renamed: list[object] = []
    for ref in chain:
        if isinstance(ref, str) and ref.startswith(f"{API}/"):
            codex = f"{CODEX}/{ref.partition('/')[2]}"
            pair = [codex, ref] if login_first else [ref, codex]
            renamed += pair if keeps_api_key else [codex]
            changes.append(
                f"model {ref} → {codex} (the ChatGPT login {logins} is clawgate's {CODEX})"
                + (
                    f"; {ref} kept {'after' if login_first else 'before'} it for the API key"
                    if keeps_api_key
                    else ""
                )
            )
        else:
            renamed.append(ref)
    kept = [r for i, r in enumerate(renamed) if r not in renamed[:i]]  # one place per model
    if chain[0] is not None and kept:
        selection["primary"] = kept[0]
        if isinstance(fallbacks, list) or len(kept) > 1:
            selection["fallbacks"] = kept[1:]
    options = defaults.get("models")
    if isinstance(options, dict):
        merged: dict[str, Any] = {}
        for ref, value in options.items():
            if not ref.startswith(f"{API}/"):
                merged.setdefault(ref, value)
                continue
            codex = f"{CODEX}/{ref.partition('/')[2]}"
            value = _dict(value)
            bare = {k: v for k, v in value.items() if k != "alias"}
            # An alias names one model: the one that comes first in the chain.
            ours = value if login_first or not keeps_api_key else bare
            merged[codex] = {**ours, **_dict(merged.get(codex))}
            if keeps_api_key:
                merged[ref] = bare if login_first else value
        defaults["models"] = merged

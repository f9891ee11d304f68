"""Config migrations that `doctor --fix` applies: an OpenClaw-shaped config pointed at
clawgate becomes clawgate's own shape, keeping every explicit choice (order, fallbacks,
aliases, params).

OpenClaw names a ChatGPT-subscription model ``openai/<model>`` and routes it through its
Codex runtime with ``agentRuntime: {id: "codex"}`` (on the model, the provider, or, in older
files, the whole agent), or ``codex/<model>``; clawgate's provider for that login is
``openai-codex``. Each migration works on the decoded document and says what it changed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["migrate"]

CODEX = "openai-codex"
_RUNTIME_KEY = "agentRuntime"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_codex(section: object) -> bool:
    runtime = _dict(_dict(section).get(_RUNTIME_KEY))
    return runtime.get("id") == "codex"


def migrate(raw: dict[str, Any]) -> list[str]:
    """Migrate ``raw`` in place; the changes, in words (empty: nothing to do)."""
    changes: list[str] = []
    _codex_refs(raw, changes)
    _runtime_keys(raw, changes)
    _codex_order(raw, changes)
    _codex_profiles(raw, changes)
    if "plugins" in raw:
        del raw["plugins"]
        changes.append("removed plugins (OpenClaw plugins do not apply to clawgate)")
    return changes


def _codex_refs(raw: dict[str, Any], changes: list[str]) -> None:
    defaults = _dict(_dict(raw.get("agents")).get("defaults"))
    options = _dict(defaults.get("models"))
    providers = _dict(_dict(raw.get("models")).get("providers"))
    everything = _is_codex(raw) or _is_codex(defaults) or _is_codex(providers.get("openai"))

    def target(ref: object) -> str | None:
        if not isinstance(ref, str):
            return None
        provider, _, model = ref.partition("/")
        if not model:
            return None
        if provider == "codex" or (
            provider == "openai" and (everything or _is_codex(options.get(ref)))
        ):
            return f"{CODEX}/{model}"
        return None

    renames: dict[str, str] = {}
    selection = _dict(defaults.get("model"))
    refs = [selection.get("primary"), *(selection.get("fallbacks") or []), *options]
    for ref in refs:
        new = target(ref)
        if new is not None and isinstance(ref, str):
            renames[ref] = new
    if not renames:
        return
    if isinstance(selection.get("primary"), str) and selection["primary"] in renames:
        selection["primary"] = renames[selection["primary"]]
    fallbacks = selection.get("fallbacks")
    if isinstance(fallbacks, list):
        renamed = [renames.get(f, f) if isinstance(f, str) else f for f in fallbacks]
        primary = selection.get("primary")
        # The same model twice in one chain is one candidate: keep its first place.
        selection["fallbacks"] = [
            f for i, f in enumerate(renamed) if f != primary and f not in renamed[:i]
        ]
    if options:
        merged: dict[str, Any] = {}
        for ref, value in options.items():
            new = renames.get(ref, ref)
            existing = merged.get(new)
            if isinstance(existing, dict) and isinstance(value, dict):
                # Both spellings were configured: what is set under clawgate's name wins.
                merged[new] = {**existing, **value} if ref == new else {**value, **existing}
            else:
                merged[new] = value
        defaults["models"] = merged
    for old, new in sorted(renames.items()):
        changes.append(f"model {old} → {new} (the ChatGPT subscription login)")


def _runtime_keys(raw: dict[str, Any], changes: list[str]) -> None:
    defaults = _dict(_dict(raw.get("agents")).get("defaults"))
    providers = _dict(_dict(raw.get("models")).get("providers"))
    places: list[tuple[str, dict[str, Any]]] = [("", raw), ("agents.defaults.", defaults)]
    places += [
        (f"agents.defaults.models[{k!r}].", _dict(v))
        for k, v in _dict(defaults.get("models")).items()
    ]
    places += [(f"models.providers.{k}.", _dict(v)) for k, v in providers.items()]
    for where, section in places:
        if _RUNTIME_KEY in section:
            del section[_RUNTIME_KEY]
            changes.append(
                f"removed {where}{_RUNTIME_KEY} (clawgate picks the runtime by provider)"
            )
    emptied = [name for name, entry in providers.items() if entry == {}]
    for name in emptied:  # it only named a runtime
        del providers[name]
        changes.append(f"removed the empty models.providers.{name}")
    models = _dict(raw.get("models"))
    if emptied and not providers:
        models.pop("providers", None)
        if not models:
            raw.pop("models", None)


def _codex_order(raw: dict[str, Any], changes: list[str]) -> None:
    order = _dict(_dict(raw.get("auth")).get("order"))
    openai = order.get("openai")
    if not isinstance(openai, list):
        return
    moving = [p for p in openai if isinstance(p, str) and p.startswith(f"{CODEX}:")]
    if not moving:
        return
    existing = order.get(CODEX)
    order[CODEX] = list(dict.fromkeys([*(existing if isinstance(existing, list) else []), *moving]))
    order["openai"] = [p for p in openai if p not in moving]
    if not order["openai"]:
        del order["openai"]
    changes.append(f"auth.order: moved {', '.join(moving)} from openai to {CODEX}")


def _codex_profiles(raw: dict[str, Any], changes: list[str]) -> None:
    profiles = _dict(_dict(raw.get("auth")).get("profiles"))
    for profile_id, meta in profiles.items():
        if profile_id.startswith(f"{CODEX}:") and _dict(meta).get("provider") == "openai":
            meta["provider"] = CODEX
            changes.append(f"auth.profiles[{profile_id!r}].provider: openai → {CODEX}")

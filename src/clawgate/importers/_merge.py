"""Putting an imported chain into clawgate.json, whichever was first: `clawgate setup` or
the import.

A config whose chain is still the default one (no file, or `setup`'s untouched primary with
no fallbacks) takes the imported chain whole. An edited one is merged: what is not set yet is
added; what is set differently is kept, and the report names each such setting with the
command that would make it OpenClaw's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from clawgate.config import DEFAULT_PRIMARY
from clawgate.importers._report import ImportReport

__all__ = ["merge_change"]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_default(selection: object) -> bool:
    if selection is None:
        return True
    if isinstance(selection, str):
        return selection == DEFAULT_PRIMARY
    chosen = _dict(selection)
    return chosen.get("primary", DEFAULT_PRIMARY) == DEFAULT_PRIMARY and not chosen.get("fallbacks")


def merge_change(
    imported: dict[str, Any], known_profiles: Collection[str], report: ImportReport
) -> Callable[[dict[str, Any]], None]:
    """The config change that merges ``imported`` (shaped like clawgate.json); order entries
    name only profiles clawgate will have (``known_profiles``)."""
    source = _dict(_dict(imported.get("agents")).get("defaults"))
    order = _dict(_dict(imported.get("auth")).get("order"))

    def change(raw: dict[str, Any]) -> None:
        target = raw.setdefault("agents", {}).setdefault("defaults", {})
        _model(target, source.get("model"), report)
        _aliases(target, _dict(source.get("models")), report)
        _order(raw, order, known_profiles, report)

    return change


def _model(target: dict[str, Any], model: object, report: ImportReport) -> None:
    if not isinstance(model, dict) or not model.get("primary"):
        return
    current = target.get("model")
    if _is_default(current):
        target["model"] = {
            "primary": model["primary"],
            "fallbacks": list(model.get("fallbacks") or []),
        }
        report.config.append("agents.defaults.model (replaced the default chain)")
        return
    mine = _dict(current) if not isinstance(current, str) else {"primary": current}
    chain = [mine.get("primary"), *(mine.get("fallbacks") or [])]
    if mine.get("primary") != model["primary"]:
        report.kept.append(
            (
                f"agents.defaults.model.primary: yours is {mine.get('primary')}, "
                f"OpenClaw's {model['primary']}",
                f"clawgate models set {model['primary']}",
            )
        )
    for ref in model.get("fallbacks") or []:
        if ref not in chain and ref != model["primary"]:
            report.kept.append(
                (f"OpenClaw's fallback {ref}", f"clawgate models fallbacks add {ref}")
            )


def _aliases(target: dict[str, Any], models: dict[str, Any], report: ImportReport) -> None:
    options = target.get("models")
    taken = {_dict(v).get("alias"): k for k, v in _dict(options).items() if _dict(v).get("alias")}
    for ref, value in models.items():
        alias = _dict(value).get("alias")
        if not isinstance(alias, str):
            continue
        entry = _dict(options).get(ref)
        if taken.get(alias) == ref:
            continue
        if alias in taken or _dict(entry).get("alias"):
            report.kept.append(
                (
                    f"alias {alias} for {ref}: yours names "
                    f"{taken.get(alias) or _dict(entry).get('alias')}",
                    f"clawgate models aliases add {alias} {ref}",
                )
            )
            continue
        options = target.setdefault("models", {})
        options.setdefault(ref, {})["alias"] = alias
        taken[alias] = ref
        report.config.append(f"agents.defaults.models[{ref!r}].alias")


def _order(
    raw: dict[str, Any],
    order: dict[str, Any],
    known: Collection[str],
    report: ImportReport,
) -> None:
    for provider, ids in order.items():
        wanted = [i for i in ids if isinstance(i, str) and i in known]
        if not wanted:
            continue
        auth_order = raw.setdefault("auth", {}).setdefault("order", {})
        if provider not in auth_order:
            auth_order[provider] = wanted
            report.config.append(f"auth.order[{provider!r}]")
        elif auth_order[provider] != wanted:
            report.kept.append(
                (
                    f"auth.order[{provider!r}]: yours is {', '.join(auth_order[provider])}",
                    f"clawgate models auth order set --provider {provider} {' '.join(wanted)}",
                )
            )

"""`clawgate models set|fallbacks|aliases`: the model chain and its aliases, as OpenClaw's
commands of the same names edit them (``agents.defaults.model`` and ``.models``).

Each change is checked first (a ref must resolve, else the refusal names the nearest ones),
then made under the config's lock with a backup, and a running gateway is told.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape

from clawgate.cli._app import App, pass_app
from clawgate.cli._model_refs import UnknownRef, change_config, check_ref, refs_in, suggest
from clawgate.routing import MAX_REF

__all__ = ["aliases", "fallbacks", "set_primary"]

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _selection(raw: dict[str, Any]) -> dict[str, Any]:
    defaults = raw.setdefault("agents", {}).setdefault("defaults", {})
    model = defaults.get("model")
    if not isinstance(model, dict):  # absent, or OpenClaw's "provider/model" shorthand
        model = defaults["model"] = {"primary": model} if isinstance(model, str) else {}
    selection: dict[str, Any] = model
    return selection


def _chain(app: App) -> tuple[str, list[str]]:
    chosen = app.config.settings.agents.defaults.model
    return chosen.primary, list(chosen.fallbacks)


def _emit(app: App, as_json: bool, document: dict[str, Any]) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2))


@click.command("set")
@click.argument("ref")
@_JSON
@pass_app
def set_primary(app: App, ref: str, as_json: bool) -> None:
    """Make REF (provider/model or an alias) the primary model: agents.defaults.model.primary."""
    target = check_ref(ref, app.config.settings)
    before, _ = _chain(app)

    def change(raw: dict[str, Any]) -> None:
        selection = _selection(raw)
        selection["primary"] = target
        fallbacks = refs_in(selection.get("fallbacks"))
        if target in fallbacks:  # one place per model in the chain
            selection["fallbacks"] = [f for f in fallbacks if f != target]

    change_config(app, change, f"primary: {target} (was {before})")
    _emit(app, as_json, {"primary": target, "previous": before})


@click.group("fallbacks")
def fallbacks() -> None:
    """The models tried in order when the primary fails (agents.defaults.model.fallbacks)."""


@fallbacks.command("list")
@_JSON
@pass_app
def fallbacks_list(app: App, as_json: bool) -> None:
    """Show the primary and its fallbacks, in the order they are tried."""
    primary, chain = _chain(app)
    if as_json:
        _emit(app, True, {"primary": primary, "fallbacks": chain})
        return
    app.out.print(f"primary: {escape(primary)}")
    for n, ref in enumerate(chain, 1):
        app.out.print(f"{n}. {escape(ref)}")
    if not chain:
        app.out.print("no fallbacks (add one: clawgate models fallbacks add <provider/model>)")


@fallbacks.command("add")
@click.argument("ref")
@click.option(
    "--at", type=click.IntRange(min=1), metavar="N", help="Put it at position N (1 = first)."
)
@_JSON
@pass_app
def fallbacks_add(app: App, ref: str, at: int | None, as_json: bool) -> None:
    """Add REF (provider/model or an alias) to the fallbacks: at the end, or at --at N."""
    target = check_ref(ref, app.config.settings)
    primary, chain = _chain(app)
    if target == primary:
        raise UnknownRef(
            f"{target} is the primary model; a fallback is another model",
            fix="pick another model, or make another primary: clawgate models set <ref>",
        )
    if target in chain:
        app.out.print(f"{escape(target)} is fallback {chain.index(target) + 1} already")
        _emit(app, as_json, {"primary": primary, "fallbacks": chain})
        return
    if at is not None and at > len(chain) + 1:
        raise click.BadParameter(f"there are {len(chain)} fallbacks: N is 1 to {len(chain) + 1}")
    place = len(chain) if at is None else at - 1
    after = [*chain[:place], target, *chain[place:]]

    def change(raw: dict[str, Any]) -> None:
        _selection(raw)["fallbacks"] = after

    change_config(app, change, f"fallback {place + 1}: {target}")
    _emit(app, as_json, {"primary": primary, "fallbacks": after})


@fallbacks.command("remove")
@click.argument("ref")
@_JSON
@pass_app
def fallbacks_remove(app: App, ref: str, as_json: bool) -> None:
    """Take REF out of the fallbacks."""
    primary, chain = _chain(app)
    target = ref if ref in chain else _resolved_or(ref, app)
    if target not in chain:
        raise UnknownRef(
            f"{ref} is not a fallback{suggest(ref, chain)}",
            fix="see them: clawgate models fallbacks list",
        )
    after = [f for f in chain if f != target]

    def change(raw: dict[str, Any]) -> None:
        _selection(raw)["fallbacks"] = after

    change_config(app, change, f"removed fallback {target}")
    _emit(app, as_json, {"primary": primary, "fallbacks": after})


@fallbacks.command("clear")
@_JSON
@pass_app
def fallbacks_clear(app: App, as_json: bool) -> None:
    """Remove every fallback: only the primary is tried."""
    primary, chain = _chain(app)

    def change(raw: dict[str, Any]) -> None:
        _selection(raw)["fallbacks"] = []

    change_config(app, change, f"removed {len(chain)} fallback(s)")
    _emit(app, as_json, {"primary": primary, "fallbacks": []})


def _resolved_or(ref: str, app: App) -> str:
    try:
        return check_ref(ref, app.config.settings)
    except UnknownRef:
        return ref


@click.group("aliases")
def aliases() -> None:
    """Short names for models, usable wherever a model ref is (agents.defaults.models.*.alias)."""


def _aliases(app: App) -> dict[str, str]:
    options = app.config.settings.agents.defaults.models
    return {o.alias: ref for ref, o in sorted(options.items()) if o.alias}


@aliases.command("list")
@_JSON
@pass_app
def aliases_list(app: App, as_json: bool) -> None:
    """Show each alias and the model it names."""
    found = _aliases(app)
    if as_json:
        _emit(app, True, {"aliases": found})
        return
    for alias, ref in found.items():
        app.out.print(f"{escape(alias)} → {escape(ref)}")
    if not found:
        app.out.print("no aliases (add one: clawgate models aliases add <alias> <provider/model>)")


@aliases.command("add")
@click.argument("alias")
@click.argument("ref")
@_JSON
@pass_app
def aliases_add(app: App, alias: str, ref: str, as_json: bool) -> None:
    """Let ALIAS name REF (provider/model); an alias that named another model moves."""
    if "/" in alias or not alias.isprintable() or not alias.strip() or len(alias) > MAX_REF:
        raise UnknownRef(
            f"{alias!r} cannot be an alias: an alias is a name without '/' or control "
            f"characters, at most {MAX_REF} long",
            fix="pick a short name, e.g. clawgate models aliases add fast openai/gpt-4.1-mini",
        )
    settings = app.config.settings
    if "/" not in ref:
        raise UnknownRef(
            f"{ref} is not a provider/model ref; an alias names a model, not another alias"
            + suggest(ref, settings.agents.defaults.models),
            fix="name the model itself, e.g. clawgate models aliases add fast openai/gpt-4.1-mini",
        )
    target = check_ref(ref, settings)
    previous = _aliases(app).get(alias)

    def change(raw: dict[str, Any]) -> None:
        options = raw.setdefault("agents", {}).setdefault("defaults", {}).setdefault("models", {})
        for value in options.values():  # an alias names one model
            if isinstance(value, dict) and value.get("alias") == alias:
                del value["alias"]
        entry = options.setdefault(target, {})
        if not isinstance(entry, dict):
            entry = options[target] = {}
        entry["alias"] = alias

    moved = f" (was {previous})" if previous and previous != target else ""
    change_config(app, change, f"alias {alias} → {target}{moved}")
    _emit(app, as_json, {"alias": alias, "ref": target, "previous": previous})


@aliases.command("remove")
@click.argument("alias")
@_JSON
@pass_app
def aliases_remove(app: App, alias: str, as_json: bool) -> None:
    """Forget ALIAS (the model keeps its other settings)."""
    found = _aliases(app)
    if alias not in found:
        raise UnknownRef(
            f"there is no alias {alias!r}{suggest(alias, found)}",
            fix="see them: clawgate models aliases list",
        )

    def change(raw: dict[str, Any]) -> None:
        options = raw.get("agents", {}).get("defaults", {}).get("models", {})
        for value in options.values():
            if isinstance(value, dict) and value.get("alias") == alias:
                del value["alias"]

    change_config(app, change, f"removed alias {alias} (it named {found[alias]})")
    _emit(app, as_json, {"alias": alias, "ref": found[alias]})

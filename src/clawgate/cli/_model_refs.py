"""What the `models` commands share: a ref the user typed, checked before the config is
touched (it must resolve, or the refusal names the nearest refs clawgate knows), and the one
way they change the config: under its lock, with a backup, then the running gateway told."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.markup import escape

from clawgate.catalog import facts, known
from clawgate.cli._app import App
from clawgate.config import Settings, edit_config
from clawgate.diagnostics import ChainEntry
from clawgate.errors import ClawgateError
from clawgate.names import shown
from clawgate.routing import RoutingError, named_refs, requested_ref

__all__ = [
    "BUILT_IN",
    "UnknownRef",
    "change_config",
    "check_ref",
    "known_refs",
    "primary_lines",
    "suggest",
]

# The providers built into clawgate, as `clawgate.catalog` registers them.
BUILT_IN = known()


class UnknownRef(ClawgateError):
    code = "bad_request"
    exit_code = 2


def known_refs(settings: Settings) -> list[str]:
    """Every ref clawgate can name: the config's, then each provider's known models."""
    refs = set(named_refs(settings))
    for provider in {*BUILT_IN, *settings.models.providers}:
        found = facts(provider, settings.models.providers.get(provider))
        refs.update(f"{provider}/{model}" for model in found.default_models)
        refs.update(f"{provider}/{model}" for model, _ in found.embedding_models)
    return sorted(refs)


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean X?)`` with the closest choices, or nothing."""
    import difflib  # only to name the nearest refs of one that does not resolve

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def check_ref(ref: str, settings: Settings) -> str:
    """``provider/model`` (an alias resolved) when ``ref`` names a model of a provider clawgate
    has; `UnknownRef` with the nearest known refs otherwise."""
    aliases = _aliases(settings)
    try:
        provider, model = requested_ref(ref, settings)
    except RoutingError as exc:
        hint = suggest(ref, [*known_refs(settings), *aliases])
        raise UnknownRef(f"{exc.message}{hint}", fix=exc.fix) from None
    return f"{provider}/{model}"


def _aliases(settings: Settings) -> dict[str, str]:
    return {o.alias: k for k, o in settings.agents.defaults.models.items() if o.alias}


def change_config(app: App, change: Callable[[dict[str, Any]], None], done: str) -> None:
    """Apply ``change`` to clawgate.json under its lock (the text before kept as
    ``clawgate.json.bak``), say ``done``, and tell a running gateway."""
    edit_config(app.paths.config_file, app.env, change)
    app.out.print(escape(done))
    app.err.print(f"backup: {escape(str(app.paths.config_file))}.bak")
    from clawgate.cli.gateway import tell_gateway  # and httpx: a change only, never status

    tell_gateway(app)


def refs_in(value: object) -> list[str]:
    return [r for r in value if isinstance(r, str)] if isinstance(value, list) else []


def describe(ref: str) -> str:
    return shown(ref) if not ref.isprintable() else ref


def primary_lines(settings: Settings, chain: list[ChainEntry], any_profiles: bool) -> list[str]:
    """What `models status` says of the primary's credentials: that none is needed (the
    embedded model), or that the primary has no usable profile and the command that adds one."""
    primary = settings.agents.defaults.model.primary
    provider = primary.partition("/")[0]
    needed = facts(provider, settings.models.providers.get(provider))
    if not needed.needs_credential:
        needs_none = "the embedded local model" if provider == "local" else escape(primary)
        return [] if any_profiles else [f"no profiles ({needs_none} needs none)"]
    entry = next((e for e in chain if e.role == "primary"), None)
    if entry is not None and any(s["decision"] == "candidate" for s in entry.steps):
        return []
    what = "no profiles" if not any_profiles else "no usable profile for the primary"
    return [
        f"[red]{what}:[/] the primary {escape(primary)} needs {needed.credential.replace('_', ' ')}"
        f" credentials from {escape(provider)}",
        f"  fix: {escape(needed.fix())}",
    ]

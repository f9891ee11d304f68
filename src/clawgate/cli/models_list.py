"""`clawgate models list`: the models the config names (its chain, aliases and providers'
models), each with its provider, context, what it can do and whether a usable credential is
there; ``--all`` adds what each provider is known to serve."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from clawgate.catalog import abilities, facts
from clawgate.cli._app import App, pass_app
from clawgate.cli._model_refs import BUILT_IN, known_refs
from clawgate.cli._providers import KNOWN_PROVIDER
from clawgate.config import Settings
from clawgate.routing import VaultProfiles, context_tokens

__all__ = ["list_models"]

_ABILITIES = ("tools", "image", "json_schema", "reasoning")


@dataclass(frozen=True)
class Row:
    ref: str
    provider: str
    model: str
    alias: str | None
    role: str | None  # primary | fallback N | embeddings | None
    configured: bool
    context: int | None
    capabilities: list[str]
    credential: str  # what the provider needs: oauth | token | api_key | none
    usable: bool  # a profile that can serve it now (or none needed)
    profiles: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "provider": self.provider,
            "model": self.model,
            "alias": self.alias,
            "role": self.role,
            "configured": self.configured,
            "contextTokens": self.context,
            "capabilities": self.capabilities,
            "auth": {"needs": self.credential, "usable": self.usable, "profiles": self.profiles},
        }


def _rows(app: App, settings: Settings, every: bool, provider: str | None) -> list[Row]:
    defaults = settings.agents.defaults
    chain = [defaults.model.primary, *defaults.model.fallbacks]
    aliases = {o.alias: ref for ref, o in defaults.models.items() if o.alias}
    embeddings = (
        [defaults.embeddings.primary, *defaults.embeddings.fallbacks]
        if (defaults.embeddings)
        else []
    )
    configured = {aliases.get(r, r) for r in [*chain, *embeddings, *defaults.models]}
    for name, served in settings.models.providers.items():
        configured.update(f"{name}/{m.id}" for m in served.models)
    refs = sorted(configured | (set(known_refs(settings)) if every else set()))
    source = VaultProfiles(app.vault, settings)
    rows = []
    for ref in refs:
        name, slash, model = ref.partition("/")
        if not slash or (provider and name != provider):
            continue
        if name not in BUILT_IN and name not in settings.models.providers:
            continue  # a ref to a provider clawgate does not have: `doctor` says so
        entry = settings.models.providers.get(name)
        can = abilities(name, model, entry)
        known = facts(name, entry)
        found = source.profiles(name)
        role = None
        if ref in chain:
            role = "primary" if chain.index(ref) == 0 else f"fallback {chain.index(ref)}"
        elif ref in embeddings:
            role = "embeddings"
        options = defaults.models.get(ref)
        rows.append(
            Row(
                ref,
                name,
                model,
                options.alias if options else None,
                role,
                ref in configured,
                context_tokens(settings, name, model),
                [a for a in _ABILITIES if getattr(can, a)],
                known.credential,
                any(p.usable for p in found),
                [p.profile_id for p in found if known.needs_credential],
            )
        )
    return sorted(rows, key=lambda r: (_place(r.role, chain, r.ref), r.ref))


def _place(role: str | None, chain: list[str], ref: str) -> int:
    """Primary first, then the fallbacks in order, then the embeddings', then the rest."""
    if ref in chain:
        return chain.index(ref)
    return len(chain) + (0 if role else 1)


@click.command("list")
@click.option("--all", "every", is_flag=True, help="Add each provider's known models.")
@click.option("--provider", type=KNOWN_PROVIDER, metavar="P", help="Only this provider's models.")
@click.option("--json", "as_json", is_flag=True, help="Print the models as JSON.")
@pass_app
def list_models(app: App, every: bool, provider: str | None, as_json: bool) -> None:
    """The configured models: provider, context, capabilities, and whether a usable profile
    exists. With --all, also what each provider is known to serve."""
    rows = _rows(app, app.config.settings, every, provider)
    if as_json:
        click.echo(json.dumps({"models": [r.to_json() for r in rows]}, indent=2))
        return
    table = Table("model", "alias", "role", "context", "can", "credential")
    providers = app.config.settings.models.providers
    fixes: dict[str, str] = {}
    for r in rows:
        if r.credential == "none":
            auth = "[green]none needed[/]"
        elif r.usable:
            auth = f"[green]ok[/] ({escape(', '.join(r.profiles))})"
        else:
            auth = f"[red]no usable {r.credential.replace('_', ' ')}[/]"
            fixes.setdefault(r.provider, facts(r.provider, providers.get(r.provider)).fix())
        table.add_row(
            escape(r.ref) + ("" if r.configured else " [dim](known)[/]"),
            escape(r.alias or "-"),
            r.role or "-",
            f"{r.context:,}" if r.context else "-",
            ", ".join(r.capabilities) or "text",
            auth,
        )
    app.out.print(table)
    for provider, fix in fixes.items():
        app.out.print(f"no usable credential for {escape(provider)}; fix: {escape(fix)}")

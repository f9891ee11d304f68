"""The candidate chain of a turn: the requested (or primary) model, then its fallbacks.

This is the first cut: one implicit profile per provider. Profile expansion by
``auth.order``, the billing-kind policy and health arrive with the vault and routing work.
"""

from __future__ import annotations

from dataclasses import dataclass

from clawgate.config import Settings
from clawgate.errors import ClawgateError


class RoutingError(ClawgateError):
    code = "bad_request"
    exit_code = 2


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str
    profile: str

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model}"


def resolve_ref(ref: str, settings: Settings) -> tuple[str, str]:
    """``provider/model`` or an alias → (provider, model). Model ids may contain '/'."""
    options = settings.agents.defaults.models
    aliases = {opts.alias: key for key, opts in options.items() if opts.alias}
    target = aliases.get(ref, ref)
    provider, slash, model = target.partition("/")
    if not (slash and provider and model):
        known = ", ".join(sorted(aliases)) or "none configured"
        raise RoutingError(
            f"model {ref!r} is neither provider/model nor an alias (aliases: {known})",
            fix="name a model as <provider>/<model>, e.g. local/smollm2-135m",
        )
    return provider, model


def plan(settings: Settings, requested: str | None = None) -> list[Candidate]:
    """An explicit model is strict (no fallbacks); the configured default walks the chain."""
    selection = settings.agents.defaults.model
    refs = [requested] if requested else [selection.primary, *selection.fallbacks]
    chain: list[Candidate] = []
    for ref in refs:
        provider, model = resolve_ref(ref, settings)
        candidate = Candidate(provider, model, profile=f"{provider}:default")
        if candidate not in chain:
            chain.append(candidate)
    return chain

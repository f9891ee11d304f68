"""The candidate chain of a turn (docs/routing.md, "Candidate chain" and "Billing-kind policy").

Models in order (the requested one, strict; or primary then fallbacks; or an explicit list),
each expanded into its provider's profiles in ``auth.order`` order (or OAuth before token
before API key). Candidates the policy or the vault rules out stay in the plan as skips, so
the decision record shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from clawgate.catalog import BillingKind, Capability, abilities
from clawgate.config import Settings
from clawgate.routing._refs import RoutingError, resolve_ref

__all__ = [
    "Candidate",
    "Plan",
    "ProfileInfo",
    "ProfileSource",
    "RoutingError",
    "Skip",
    "context_tokens",
    "plan",
    "resolve_ref",
]


@dataclass(frozen=True)
class Candidate:
    provider: str
    model: str
    profile: str
    billing: BillingKind = "free"
    context: int | None = None  # tokens, when known

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model}"


SkipDecision = Literal["skip_policy", "skip_needs_login", "skip_capability"]


@dataclass(frozen=True)
class Skip:
    candidate: Candidate
    decision: SkipDecision
    reason: str  # policy_billing_kind, auth_dead, no_profile, unresolved, capability
    message: str
    fix: str | None = None


@dataclass(frozen=True)
class ProfileInfo:
    profile_id: str
    billing: BillingKind
    usable: bool = True
    reason: str | None = None  # why not usable
    message: str | None = None
    fix: str | None = None


class ProfileSource(Protocol):
    def profiles(self, provider: str) -> list[ProfileInfo]:
        """The provider's profiles in the order to try them."""
        ...


@dataclass(frozen=True)
class Plan:
    requested: str | None
    strict: bool
    steps: tuple[Candidate | Skip, ...]

    @property
    def candidates(self) -> list[Candidate]:
        return [s for s in self.steps if isinstance(s, Candidate)]


def context_tokens(settings: Settings, provider: str, model: str) -> int | None:
    """``agents.defaults.models[ref].params.contextTokens``, else the provider's model entry."""
    options = settings.agents.defaults.models.get(f"{provider}/{model}")
    if options and options.params.context_tokens:
        return options.params.context_tokens
    entry = settings.models.providers.get(provider)
    for known in entry.models if entry else ():
        if known.id == model and known.context_window:
            return known.context_window
    return None


class _NoProfiles:
    def profiles(self, provider: str) -> list[ProfileInfo]:
        return [ProfileInfo(f"{provider}:default", "free")]


def plan(
    settings: Settings,
    requested: str | None = None,
    *,
    models: Sequence[str] | None = None,
    profiles: ProfileSource | None = None,
    needs: frozenset[Capability] = frozenset(),
) -> Plan:
    """An explicit model is strict (no fallbacks); the configured default, or an explicit
    ``models`` list, walks the chain. A model that lacks a capability the turn ``needs``
    (tools, images, a JSON schema) stays in the plan as a skip, so the record says why."""
    if models:
        refs, strict = list(models), False
    elif requested:
        refs, strict = [requested], True
    else:
        selection = settings.agents.defaults.model
        refs, strict = [selection.primary, *selection.fallbacks], False
    source = profiles or _NoProfiles()
    fallthrough = settings.auth.fallthrough
    steps: list[Candidate | Skip] = []
    seen: set[tuple[str, str, str]] = set()
    turn_billing: BillingKind | None = None
    for ref in refs:
        provider, model = resolve_ref(ref, settings)
        context = context_tokens(settings, provider, model)
        lacks = abilities(provider, model, settings.models.providers.get(provider)).lacks(needs)
        infos = source.profiles(provider)
        if fallthrough == "none":
            infos = infos[:1]  # no profile rotation at all
        for info in infos:
            key = (provider, model, info.profile_id)
            if key in seen:
                continue
            seen.add(key)
            candidate = Candidate(provider, model, info.profile_id, info.billing, context)
            if lacks:
                steps.append(
                    Skip(
                        candidate,
                        "skip_capability",
                        "capability",
                        f"{provider}/{model} cannot take {', '.join(lacks)}",
                        f"add a model that can to the chain, or say what {provider}/{model} "
                        f"can in models.providers.{provider}.models (input, tools, jsonSchema)",
                    )
                )
                continue
            if turn_billing is None:
                turn_billing = info.billing  # the preferred candidate sets the turn's kind
            if not info.usable:
                steps.append(
                    Skip(
                        candidate,
                        "skip_needs_login",
                        info.reason or "auth_dead",
                        info.message or "the profile cannot be used",
                        info.fix,
                    )
                )
            elif not _allowed(turn_billing, info.billing, fallthrough):
                steps.append(
                    Skip(
                        candidate,
                        "skip_policy",
                        "policy_billing_kind",
                        f"{info.profile_id} is billed per use ({info.billing}) and the turn "
                        f"started on a {turn_billing} profile",
                        'set auth.fallthrough to "any" to allow paid fallbacks',
                    )
                )
            else:
                steps.append(candidate)
    return Plan(requested if requested or not models else models[0], strict, tuple(steps))


def _allowed(turn: BillingKind, candidate: BillingKind, fallthrough: str) -> bool:
    """Moving to a metered profile costs money: only under ``any``, or when the turn's
    preferred candidate is itself metered. Subscription and free profiles are always fine."""
    if candidate != "metered" or fallthrough == "any":
        return True
    return turn == "metered"

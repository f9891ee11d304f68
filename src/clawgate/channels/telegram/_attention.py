"""What needs the owner: the profiles of this channel's chain that need a new login, each with
the exact command that fixes it (`catalog`'s, ``--device-code`` where the provider has one).

A dead login is one incident until it is fixed: the vault's ``needs_login`` status (since
when), or health's ``auth_dead`` block (of which material generation). The owner is told once
per incident (`TelegramStore.tell`); a profile seen healthy again is forgotten, so the next
death is told again.
"""

from __future__ import annotations

from dataclasses import dataclass

from clawgate.catalog import facts
from clawgate.failures import FailureClass
from clawgate.routing import Candidate, Skip
from clawgate.runtime import Runtime, TurnRequest

__all__ = ["DeadLogin", "dead_logins", "profiles_of"]


@dataclass(frozen=True)
class DeadLogin:
    profile: str
    provider: str
    message: str
    fix: str
    incident: str  # what makes this death this one


def _fix(runtime: Runtime, provider: str, given: str | None) -> str:
    return given or facts(provider, runtime.settings.models.providers.get(provider)).fix()


def dead_logins(runtime: Runtime, request: TurnRequest) -> list[DeadLogin]:
    """The profiles ``request``'s chain would skip because their login is dead."""
    found: dict[str, DeadLogin] = {}
    for step in runtime.plan(request).steps:
        if isinstance(step, Skip):
            c = step.candidate
            if step.decision == "skip_needs_login" and step.reason == FailureClass.AUTH_DEAD:
                status = runtime.vault.status(c.profile) if runtime.vault else None
                since = status.since if status else None
                found.setdefault(
                    c.profile,
                    DeadLogin(
                        c.profile,
                        c.provider,
                        step.message,
                        _fix(runtime, c.provider, step.fix),
                        f"vault:{since}",
                    ),
                )
            continue
        dead = _health_dead(runtime, step)
        if dead is not None:
            found.setdefault(step.profile, dead)
    return list(found.values())


def _health_dead(runtime: Runtime, c: Candidate) -> DeadLogin | None:
    generation = runtime.broker.generation(c.profile) if runtime.broker else None
    blocked = runtime.health.check(c, generation)
    if blocked is None or blocked.decision != "skip_needs_login":
        return None
    return DeadLogin(
        c.profile,
        c.provider,
        f"{c.profile} was refused as a dead credential ({blocked.reason})",
        _fix(runtime, c.provider, None),
        f"health:{generation}",
    )


def profiles_of(runtime: Runtime, request: TurnRequest) -> list[str]:
    """Every profile ``request``'s chain names (to forget the ones that healed)."""
    steps = runtime.plan(request).steps
    return sorted({(s.candidate if isinstance(s, Skip) else s).profile for s in steps})

"""A probe: one minimal real request per profile, through exactly the path a turn takes
(broker, then the provider's transport), reported step by step (docs/auth.md, "The one
path rule"; docs/auth.md, "Failure modes" 1).

A probe does not touch routing health: a cooldown is reported next to the result, and the
next turn still honours it. What the broker learns (a refresh, a dead grant) it keeps, as it
would in a turn. Every result is written to ``state.db`` with the process that ran it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from clawgate.auth import Access, check_credential
from clawgate.catalog import CHANNEL_PROVIDERS, facts
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import (
    Completed,
    Message,
    ModelRequest,
)
from clawgate.routing import Skip
from clawgate.runtime._turn import Runtime, TurnRequest
from clawgate.state import ProbeRecord
from clawgate.views import to_json

__all__ = ["ProbeResult", "ProbeTarget", "probe", "probe_targets"]

PROBE_PROMPT = "Reply with the single word: ok"
PROBE_MAX_TOKENS = 16
RanIn = Literal["gateway", "process"]


@dataclass(frozen=True)
class ProbeTarget:
    profile: str
    provider: str
    model: str | None  # None: no model is known for the provider


@dataclass(frozen=True)
class ProbeResult:
    profile: str
    provider: str
    model: str | None
    ok: bool
    # The steps that ran: credential memory|vault|adopted|refreshed|stale-but-valid|none|
    # failed; request ok|failed|skipped; "refreshed_after_401" when the provider refused the
    # first token and the broker's one forced refresh was used.
    credential: str
    request: str
    failure: str | None = None
    message: str | None = None
    fix: str | None = None
    status: int | None = None
    latency_ms: float | None = None
    valid_for: float | None = None  # seconds of access-token validity left, when known
    note: str | None = None  # e.g. why a refresh was put off
    usage: dict[str, Any] | None = None  # ChatGPT subscription windows
    ran_in: RanIn = "process"
    pid: int = field(default_factory=os.getpid)
    at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def probe_targets(
    runtime: Runtime, *, provider: str | None = None, profile: str | None = None
) -> list[ProbeTarget]:
    """Every stored or configured profile, and every profile of the default chain (a local
    model needs none), each with the model the chain uses it for."""
    models: dict[str, tuple[str, str]] = {}
    for step in runtime.plan(TurnRequest(())).steps:
        c = step.candidate if isinstance(step, Skip) else step
        models.setdefault(c.profile, (c.provider, c.model))
    settings = runtime.settings
    ids = set(settings.auth.profiles) | set(runtime.vault.profile_ids() if runtime.vault else ())
    for profile_id in ids:
        meta = settings.auth.profiles.get(profile_id)
        owner = meta.provider if meta else profile_id.split(":", 1)[0]
        if owner in CHANNEL_PROVIDERS:
            continue  # a bot token: no model to ask
        if profile_id not in models:
            models[profile_id] = (owner, _model_for(runtime, owner, profile_id) or "")
    targets = [
        ProbeTarget(profile_id, owner, model or None)
        for profile_id, (owner, model) in sorted(models.items())
    ]
    return [
        t
        for t in targets
        if (provider is None or t.provider == provider)
        and (profile is None or t.profile == profile)
    ]


def _model_for(runtime: Runtime, provider: str, profile: str) -> str | None:
    """A model of the provider the user named somewhere, else the one the profile last
    answered with, else the provider's default."""
    settings = runtime.settings
    for ref in settings.agents.defaults.models:
        if ref.startswith(f"{provider}/"):
            return ref.split("/", 1)[1]
    entry = settings.models.providers.get(provider)
    if entry and entry.models:
        return entry.models[0].id
    if runtime.state is not None and (used := runtime.state.usage.last_model(profile)):
        return used
    defaults = facts(provider, entry).default_models
    return defaults[0] if defaults else None


async def probe(
    runtime: Runtime,
    targets: Sequence[ProbeTarget],
    *,
    seconds: float = 30.0,
    concurrency: int = 4,
    ran_in: RanIn = "process",
) -> list[ProbeResult]:
    """Probe each target (at most ``concurrency`` at once, each within ``seconds``)."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(target: ProbeTarget) -> ProbeResult:
        async with gate:
            result = await _probe_one(runtime, target, seconds, ran_in)
        if runtime.state is not None:
            runtime.state.probes.add(
                ProbeRecord(
                    profile=result.profile,
                    at=result.at,
                    ran_in=result.ran_in,
                    pid=result.pid,
                    ok=result.ok,
                    failure=result.failure,
                    result=result.to_json(),
                )
            )
        return result

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def _probe_one(
    runtime: Runtime, target: ProbeTarget, seconds: float, ran_in: RanIn
) -> ProbeResult:
    clock = runtime.clock
    base: dict[str, Any] = {
        "profile": target.profile,
        "provider": target.provider,
        "model": target.model,
        "ran_in": ran_in,
        "at": clock.now(),
    }
    access, step = None, "none"
    generation = runtime.vault.generation(target.profile) if runtime.vault else None
    if generation is not None and runtime.broker is not None:
        runtime.broker.observe(target.profile, generation)
        checked = await check_credential(runtime.broker, target.profile)
        if not checked.ok:
            return ProbeResult(
                **base,
                ok=False,
                credential="failed",
                request="skipped",
                failure=checked.failure.value if checked.failure else None,
                message=checked.message,
                fix=checked.fix,
            )
        access, step = Access(runtime.broker, target.profile), checked.how or "vault"
        base.update(valid_for=checked.valid_for, note=checked.message)
    elif runtime.profiles is not None and runtime.profiles.needs_credential(target.provider):
        return ProbeResult(
            **base,
            ok=False,
            credential="failed",
            request="skipped",
            failure=FailureClass.AUTH_DEAD.value,
            message=f"no credentials stored for {target.profile}",
            fix=runtime.profiles.facts(target.provider).fix(),
        )
    if target.model is None:
        return ProbeResult(
            **base,
            ok=False,
            credential=step,
            request="skipped",
            failure=FailureClass.BAD_REQUEST.value,
            message=f"no model is known for provider {target.provider}",
            fix=f"name one in clawgate.json: models.providers.{target.provider}.models "
            '[{"id": "<model>"}]',
        )
    begun = clock.monotonic()
    usage, error = None, None
    try:
        async with asyncio.timeout(seconds):
            usage = await _request(runtime, target, target.model, access)
    except Failed as exc:
        error = exc
    except TimeoutError:
        error = Failed(
            Failure(
                FailureClass.TIMEOUT,
                f"no complete answer within the probe timeout ({seconds:g} s)",
                fix="raise it with --probe-timeout, or check the provider's status page",
            )
        )
    base.update(
        credential=_after(runtime, target, generation, step),
        latency_ms=round((clock.monotonic() - begun) * 1000, 1),
    )
    if error is None:
        return ProbeResult(**base, ok=True, request="ok", usage=usage)
    return ProbeResult(
        **base,
        ok=False,
        request="failed",
        failure=error.code,
        message=error.message,
        fix=error.fix,
        status=error.failure.status,
    )


async def _request(
    runtime: Runtime, target: ProbeTarget, model: str, access: Access | None
) -> dict[str, Any] | None:
    """The request a turn would send, as small as it can be; the answer is read to the end
    (a stream cut short is a failure here as in a turn)."""
    provider = runtime.providers.get(target.provider)
    request = ModelRequest(
        model=model,
        messages=(Message("user", PROBE_PROMPT),),
        max_tokens=PROBE_MAX_TOKENS,
        temperature=0.0,
        session_id=f"probe-{uuid.uuid4().hex}",
    )
    completed = False
    stream = provider.stream(request, access)
    async with contextlib.aclosing(stream):
        async for event in stream:
            completed = completed or isinstance(event, Completed)
    if not completed:
        raise Failed(Failure(FailureClass.STREAM_BROKEN, "the stream ended unfinished"))
    windows = await provider.usage_windows(access)
    return asdict(windows) if windows is not None else None


def _after(runtime: Runtime, target: ProbeTarget, generation: int | None, step: str) -> str:
    """The credential step, corrected when the request's 401 made the broker refresh."""
    if runtime.vault is None or generation is None:
        return step
    now = runtime.vault.generation(target.profile)
    if now is not None and now > generation and step != "refreshed":
        return "refreshed_after_401"
    return step

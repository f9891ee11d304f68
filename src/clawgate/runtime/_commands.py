"""The chat commands a conversation channel shares (the terminal's ``clawgate chat``, the
Telegram channel): ``/help /new /model [REF] /status /retry /exit``, each answered as text from
the runtime and the settings.

A channel reads its own input, keeps its own session and pinned model, and renders the text;
what a command *says* is decided once, here. A command is never sent to a model.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clawgate.catalog import facts
from clawgate.config import Settings
from clawgate.errors import ClawgateError
from clawgate.providers import Message, to_record
from clawgate.routing import Candidate, RoutingError, Skip, resolve_ref
from clawgate.runtime._turn import Runtime, TurnRequest
from clawgate.state import StoredMessage

__all__ = [
    "COMMANDS",
    "Command",
    "ModelChoice",
    "choose_model",
    "help_text",
    "keep_interrupted",
    "known_models",
    "message_text",
    "parse_command",
    "status_text",
]

# Each command's arguments and what it does, in the order /help lists them.
COMMANDS: Mapping[str, tuple[str, str]] = {
    "help": ("", "this list"),
    "new": ("", "start a fresh conversation"),
    "model": ("[REF]", "show the chain, or put a model or alias first (/model default unpins)"),
    "status": ("", "which model and profile would answer, and what needs a login"),
    "retry": ("", "ask the last message again, for a fresh answer"),
    "exit": ("", "leave"),
}
_UNPIN = frozenset({"default", "reset", "off", "none"})


@dataclass(frozen=True)
class Command:
    name: str  # lower-cased, without the slash
    args: str


def parse_command(line: str) -> Command | None:
    """``/name args`` → the command; None for a message. ``//text`` is the message ``/text``
    (the escape for a message that starts with a slash)."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    head, _, args = text[1:].partition(" ")
    return Command(head.split("@", 1)[0].lower(), args.strip())  # /help@bot in Telegram groups


def message_text(line: str) -> str:
    """The message a line sends: ``//text`` → ``/text``."""
    text = line.strip()
    return text[1:] if text.startswith("//") else text


def help_text(names: Iterable[str], extra: Mapping[str, tuple[str, str]] | None = None) -> str:
    """The list of ``names`` (in `COMMANDS`' order), then a channel's own ``extra`` ones."""
    wanted = set(names)
    entries = [(n, d) for n, d in COMMANDS.items() if n in wanted] + list((extra or {}).items())
    return "\n".join(
        f"/{name}{' ' + usage if usage else ''} — {what}" for name, (usage, what) in entries
    )


def known_models(settings: Settings, *chain: str) -> set[str]:
    """Every model the config names (refs and aliases), and a channel's own ``chain``: what
    /model may pin."""
    names: set[str] = set(chain)
    chosen = settings.agents.defaults.model
    names.update([chosen.primary, *chosen.fallbacks])
    for ref, options in settings.agents.defaults.models.items():
        names.add(ref)
        if options.alias:
            names.add(options.alias)
    for provider, entry in settings.models.providers.items():
        names.update(f"{provider}/{m.id}" for m in entry.models)
    return names


@dataclass(frozen=True)
class ModelChoice:
    text: str
    pin: str | None  # the model to put first from now on (None: the configured chain)


def choose_model(settings: Settings, pin: str | None, wanted: str) -> ModelChoice:
    """``/model [REF]``: show the chain, pin REF (a model or alias the config names, or any
    ``provider/model`` that resolves), or unpin."""
    chosen = settings.agents.defaults.model
    chain = list(dict.fromkeys([*([pin] if pin else []), chosen.primary, *chosen.fallbacks]))
    if not wanted:
        pinned = f"pinned to {pin}; " if pin else ""
        return ModelChoice(f"{pinned}chain {' → '.join(chain)}", pin)
    if wanted.lower() in _UNPIN:
        return ModelChoice("unpinned: the configured chain answers again", None)
    try:
        resolve_ref(wanted, settings)
    except RoutingError as exc:
        known = ", ".join(sorted(known_models(settings)))
        return ModelChoice(f"not a model: {exc.message} (known: {known})", pin)
    return ModelChoice(f"pinned to {wanted} (the chain follows if it cannot answer)", wanted)


def status_text(runtime: Runtime, request: TurnRequest) -> str:
    """Which model and profile would answer ``request`` now, what is skipped or resting and
    why, and the command for each login that is needed."""
    probe = TurnRequest(
        request.messages or (Message("user", "status"),),
        model=request.model,
        models=request.models,
        fallbacks=request.fallbacks,
    )
    try:
        steps = runtime.plan(probe).steps
    except ClawgateError as exc:
        fix = f" — fix: {exc.fix}" if exc.fix else ""
        return f"No model can answer: {exc.message}{fix}"
    lines: list[str] = []
    answering: Candidate | None = None
    for step in steps:
        if isinstance(step, Skip):
            fix = f" — fix: {step.fix}" if step.fix else ""
            lines.append(f"✗ {step.candidate.ref} ({step.candidate.profile}): {step.message}{fix}")
            continue
        generation = runtime.broker.generation(step.profile) if runtime.broker else None
        blocked = runtime.health.check(step, generation)
        if blocked is None:
            answering = answering or step
            continue
        until = time.strftime("%H:%M", time.localtime(blocked.until))
        later = f" until {until}" if blocked.until < 4e9 else ""
        fix = ""
        if blocked.decision == "skip_needs_login":
            provider = runtime.settings.models.providers.get(step.provider)
            fix = f" — fix: {facts(step.provider, provider).fix()}"
        lines.append(f"✗ {step.ref} ({step.profile}): {blocked.reason}{later}{fix}")
    head = (
        f"Would answer: {answering.ref} ({answering.profile}, {answering.billing})"
        if answering
        else "No model can answer right now."
    )
    return "\n".join([head, *dict.fromkeys(lines)])


INTERRUPTED = "[interrupted]"


def keep_interrupted(
    runtime: Runtime, session: str, asked: tuple[Message, ...], partial: str, turn_id: str | None
) -> bool:
    """Keep a turn the person cancelled mid-answer in the session's history: what was asked
    and the partial answer, marked as cut off (so the model, too, knows it was not finished).
    The runtime recorded the turn itself as ``client_gone`` and kept nothing. A turn cancelled
    before any text keeps nothing (False)."""
    if runtime.state is None or not partial.strip():
        return False
    answer = Message("assistant", f"{partial.rstrip()} {INTERRUPTED}")
    stored = [StoredMessage(m.role, m.text, json.dumps(to_record(m))) for m in (*asked, answer)]
    runtime.state.sessions.append(
        session, turn_id or uuid.uuid4().hex, stored, now=runtime.clock.now()
    )
    return True

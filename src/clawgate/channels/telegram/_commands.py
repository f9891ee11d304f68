"""The chat's commands: ``/new /model /status /usage /stop /help`` (``/start`` is Telegram's
first message, answered with the help)."""

from __future__ import annotations

import time

from clawgate.auth import Access
from clawgate.channels.telegram._attention import dead_logins
from clawgate.channels.telegram._context import Context
from clawgate.channels.telegram._incoming import Incoming
from clawgate.channels.telegram._render import Part
from clawgate.channels.telegram._turn import chain_request, where
from clawgate.config import Settings
from clawgate.errors import ClawgateError
from clawgate.providers import Message
from clawgate.routing import RoutingError, resolve_ref
from clawgate.runtime import Runtime, status_text
from clawgate.runtime import known_models as shared_known_models

__all__ = ["COMMANDS", "HELP", "known_models", "run_command", "session_key"]

HELP = (
    "Write to me and I answer with the configured models.\n"
    "/new — start a fresh conversation\n"
    "/model [REF] — show the model, or pin this chat to a model or alias (/model default "
    "unpins)\n"
    "/status — which model and profile would answer, and what needs a login\n"
    "/usage — subscription windows and this chat's tokens\n"
    "/stop — cancel the answer being written\n"
    "/help — this list"
)
COMMANDS = frozenset({"new", "model", "status", "usage", "stop", "help", "start"})
_UNPIN = frozenset({"default", "reset", "off", "none"})


def session_key(inc: Incoming, epoch: int) -> str:
    """The state.db session of a chat (or topic): a new one after every /new."""
    return f"telegram:{inc.chat_key}/{epoch}"


def known_models(settings: Settings) -> set[str]:
    """Every model the config names (refs and aliases), this channel's chain included: what
    /model may pin (the terminal's chat shares `runtime.known_models`)."""
    tg = settings.channels.telegram.model
    return shared_known_models(settings, *([tg.primary, *tg.fallbacks] if tg else []))


async def run_command(ctx: Context, inc: Incoming, name: str) -> None:
    """Answer a command (``/stop`` is the channel's: it knows the running turns)."""
    if name in ("help", "start"):
        await _say(ctx, inc, HELP)
        return
    if name == "new":
        ctx.store.new_session(inc.chat_key)
        await _say(ctx, inc, "Fresh start: the conversation so far is left behind.")
        return
    async with await ctx.lease() as runtime:
        if name == "model":
            await _say(ctx, inc, _model(ctx, runtime.settings, inc))
        elif name == "status":
            await _say(ctx, inc, _status(ctx, runtime, inc))
        elif name == "usage":
            await _say(ctx, inc, await _usage(ctx, runtime, inc))


async def _say(ctx: Context, inc: Incoming, text: str) -> None:
    await ctx.sender.send(inc.chat_id, Part(_escape(text), text), **where(inc))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _model(ctx: Context, settings: Settings, inc: Incoming) -> str:
    _, pin = ctx.store.chat(inc.chat_key)
    wanted = inc.args.strip()
    chain = chain_request(settings, (), session=None, pin=pin).models
    if not wanted:
        shown = " → ".join(chain) if chain else _default_chain(settings)
        pinned = f"pinned to {pin}; " if pin else ""
        return f"This chat: {pinned}chain {shown}"
    if wanted.lower() in _UNPIN:
        ctx.store.pin(inc.chat_key, None)
        return "Unpinned: this chat uses the configured chain again."
    try:
        resolve_ref(wanted, settings)
    except RoutingError as exc:
        return f"Not a model: {exc.message}"
    if wanted not in known_models(settings):
        known = ", ".join(sorted(known_models(settings)))
        return f"{wanted} is not in the config. Known: {known}"
    ctx.store.pin(inc.chat_key, wanted)
    return f"Pinned this chat to {wanted} (the chain follows if it cannot answer)."


def _default_chain(settings: Settings) -> str:
    chosen = settings.agents.defaults.model
    return " → ".join([chosen.primary, *chosen.fallbacks])


def _status(ctx: Context, runtime: Runtime, inc: Incoming) -> str:
    """The terminal chat's ``/status`` (`runtime.status_text`) for this chat's chain, and each
    dead login with its command."""
    _, pin = ctx.store.chat(inc.chat_key)
    request = chain_request(runtime.settings, (Message("user", "status"),), session=None, pin=pin)
    lines = status_text(runtime, request).splitlines()
    lines += [f"Needs a login: {d.profile} — run: {d.fix}" for d in dead_logins(runtime, request)]
    return "\n".join(dict.fromkeys(lines))


async def _usage(ctx: Context, runtime: Runtime, inc: Incoming) -> str:
    turns, tokens_in, tokens_out = ctx.store.chat_tokens(f"telegram:{inc.chat_key}/")
    lines = [f"This chat: {turns} answers, {tokens_in} tokens in, {tokens_out} out."]
    _, pin = ctx.store.chat(inc.chat_key)
    request = chain_request(runtime.settings, (), session=None, pin=pin)
    seen: set[str] = set()
    for c in runtime.plan(request).candidates:
        if c.billing != "subscription" or c.profile in seen or runtime.broker is None:
            continue
        seen.add(c.profile)
        try:
            provider = runtime.providers.get(c.provider)
            windows = await provider.usage_windows(Access(runtime.broker, c.profile))
        except ClawgateError as exc:
            lines.append(f"{c.profile}: windows unknown ({exc.message})")
            continue
        if windows is None:
            continue
        for label, window in (("5-hour", windows.primary), ("week", windows.secondary)):
            if window is not None:
                resets = (
                    time.strftime(" (resets %a %H:%M)", time.localtime(window.resets_at))
                    if window.resets_at
                    else ""
                )
                lines.append(f"{c.profile} {label}: {window.used_percent}% used{resets}")
    return "\n".join(lines)

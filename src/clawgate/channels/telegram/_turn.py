"""One turn from a chat: through the runtime on the chat's session, streamed as a draft,
delivered as rendered parts (each exactly once), with the footer that says who answered.

A failed turn tells the user in a line, and the owner why and what fixes it; a dead login
in the chain is told to the owner once (`_attention`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from typing import Any

from telegram.error import TelegramError

from clawgate.channels.telegram._attention import dead_logins, profiles_of
from clawgate.channels.telegram._context import Context
from clawgate.channels.telegram._draft import Draft
from clawgate.channels.telegram._incoming import Incoming
from clawgate.channels.telegram._render import Part, render
from clawgate.config import Settings
from clawgate.providers import ImagePart, Message, TextDelta, TextPart
from clawgate.providers import Part as ContentPart
from clawgate.runtime import Restart, Runtime, TurnFailed, TurnRequest, TurnResult

__all__ = ["chain_request", "deliver", "footer_line", "run_turn", "tell_owner_dead"]

log = logging.getLogger("clawgate.channels.telegram")

_WHY = {
    "rate_limit": "rate limited",
    "quota": "out of quota",
    "billing": "has a billing problem",
    "entitlement": "is not in the plan",
    "auth_dead": "needs a new login",
    "auth_transient": "could not authenticate",
    "overloaded": "overloaded",
    "server_error": "had a server error",
    "timeout": "timed out",
    "network": "unreachable",
    "stream_broken": "broke off",
    "model_not_found": "model not found",
    "unavailable": "unavailable",
    "circuit_open": "failing repeatedly",
    "policy_billing_kind": "metered, not allowed",
    "context_overflow": "conversation too long for it",
}


def where(inc: Incoming) -> dict[str, Any]:
    """Where a reply goes: the topic, and in groups as a reply to the message."""
    found: dict[str, Any] = {}
    if inc.thread_id:
        found["message_thread_id"] = inc.thread_id
    if inc.group:
        found["reply_to_message_id"] = inc.message_id
    return found


def chain_request(
    settings: Settings,
    messages: tuple[Message, ...],
    *,
    session: str | None,
    pin: str | None,
) -> TurnRequest:
    """The channel's chain (``channels.telegram.model``, else the agent's), a pinned model
    first."""
    tg = settings.channels.telegram
    refs: list[str] = [pin] if pin else []
    if tg.model is not None:
        refs += [tg.model.primary, *tg.model.fallbacks]
    elif pin:
        chosen = settings.agents.defaults.model
        refs += [chosen.primary, *chosen.fallbacks]
    return TurnRequest(
        messages,
        models=tuple(dict.fromkeys(refs)),
        session=session,
        restartable=True,
    )


async def _content(ctx: Context, inc: Incoming) -> str | tuple[ContentPart, ...]:
    if inc.photo is None:
        return inc.text
    file = await ctx.sender.call(lambda: ctx.bot.get_file(inc.photo or ""))
    data = bytes(await file.download_as_bytearray())
    url = f"data:image/jpeg;base64,{base64.b64encode(data).decode()}"
    return (TextPart(inc.text or "What is in this picture?"), ImagePart(url))


async def run_turn(ctx: Context, inc: Incoming, session: str, pin: str | None) -> None:
    async with await ctx.lease() as runtime:
        settings = runtime.settings
        tg = settings.channels.telegram
        messages: list[Message] = []
        if tg.system_prompt and runtime.state and not runtime.state.sessions.history(session):
            messages.append(Message("system", tg.system_prompt))  # once, at a session's start
        messages.append(Message("user", await _content(ctx, inc)))
        request = chain_request(settings, tuple(messages), session=session, pin=pin)
        try:
            result, draft = await _stream(ctx, runtime, request, inc)
        except TurnFailed as exc:
            ctx.failures += 1
            await _failed(ctx, runtime, request, inc, exc)
            await tell_owner_dead(ctx, runtime, request)
            return
        await tell_owner_dead(ctx, runtime, request)
        ctx.turns += 1
        line = footer_line(runtime, request, result, tg.footer)
        await deliver(ctx, inc, render(result.text, footer=line), draft)


async def _stream(
    ctx: Context, runtime: Runtime, request: TurnRequest, inc: Incoming
) -> tuple[TurnResult, Draft]:
    draft = Draft(ctx.sender, inc.chat_id, ctx.clock, ctx.draft_interval, **where(inc))
    typing = asyncio.create_task(_typing(ctx, inc))
    result: TurnResult | None = None
    try:
        async with contextlib.aclosing(runtime.stream(request)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    typing.cancel()
                    draft.add(event.text)
                    await draft.update()
                elif isinstance(event, Restart):
                    draft.restart()
                elif isinstance(event, TurnResult):
                    result = event
    finally:
        typing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await typing
    assert result is not None, "a turn stream ends with a TurnResult or raises"
    return result, draft


async def _typing(ctx: Context, inc: Incoming) -> None:
    """ "typing…" until the first text (it shows about 5 s per call)."""
    while True:
        with contextlib.suppress(TelegramError):
            await ctx.bot.send_chat_action(
                inc.chat_id, "typing", message_thread_id=inc.thread_id or None
            )
        await ctx.sleep(ctx.typing_every)


async def deliver(ctx: Context, inc: Incoming, parts: list[Part], draft: Draft | None) -> None:
    """Every part once: the first replaces the draft (when there is one), the rest follow."""
    rest = parts
    if draft is not None and draft.message_id is not None:
        first, rest = parts[0], parts[1:]
        try:
            await ctx.sender.edit(inc.chat_id, draft.message_id, first, shown=draft.shown)
        except TelegramError as exc:  # the draft is gone (deleted?): send the part instead
            log.info("final edit failed (%s); sending the part anew", type(exc).__name__)
            rest = parts
    for part in rest:
        await ctx.sender.send(inc.chat_id, part, **where(inc))


def footer_line(
    runtime: Runtime, request: TurnRequest, result: TurnResult, mode: str
) -> str | None:
    """Who answered, when it was not the first choice, was billed per use, or always."""
    billing = next(
        (c.billing for c in runtime.plan(request).candidates if c.profile == result.profile),
        None,
    )
    metered = billing == "metered"
    if mode == "never" or (mode == "fallback" and not result.fallback and not metered):
        return None
    line = f"— {result.model} ({result.profile}{', metered' if metered else ''})"
    if result.fallback:
        line += f"; {_why(runtime, result)}"
    return line


def _why(runtime: Runtime, result: TurnResult) -> str:
    """Why the first choice did not answer, e.g. "up/m rate limited until 14:05"."""
    first = next((a for a in result.attempts if a.decision != "succeeded"), None)
    if first is None:
        return "fallback"
    reason = first.reason or first.decision
    words = f"{first.candidate} {_WHY.get(reason, reason.replace('_', ' '))}"
    until = _until(runtime, first.profile, first.candidate)
    if until is not None:
        words += f" until {time.strftime('%H:%M', time.localtime(until))}"
    return words


def _until(runtime: Runtime, profile: str, ref: str) -> float | None:
    generation = runtime.broker.generation(profile) if runtime.broker else None
    marks = runtime.health.active(profile, generation)
    untils = [m.until for m in marks if m.model in (None, ref) and m.until < 4e9]
    return max(untils) if untils else None


async def _failed(
    ctx: Context, runtime: Runtime, request: TurnRequest, inc: Incoming, exc: TurnFailed
) -> None:
    failure = exc.failure
    brief = _WHY.get(failure.kind.value, failure.kind.value.replace("_", " "))
    with contextlib.suppress(TelegramError):
        await ctx.sender.send_plain(
            inc.chat_id, f"Sorry, no model could answer ({brief}).", **where(inc)
        )
    owner = ctx.store.owner()
    if owner is None or failure.kind.value == "auth_dead":
        return  # a dead login is told once, by tell_owner_dead
    fix = f"\nFix: {exc.fix}" if exc.fix else ""
    text = f"A turn in chat {inc.chat_id} failed (turn {exc.turn_id}): {exc.message}{fix}"
    with contextlib.suppress(TelegramError):
        await ctx.sender.send_plain(owner.chat_id, text)


async def tell_owner_dead(ctx: Context, runtime: Runtime, request: TurnRequest) -> None:
    """One message to the owner per dead login (until it is fixed and dies again)."""
    owner = ctx.store.owner()
    if owner is None:
        return
    told = ctx.store.told()
    dead = {d.profile: d for d in dead_logins(runtime, request)}
    for profile in profiles_of(runtime, request):
        if profile in told and profile not in dead:
            ctx.store.healed(profile)
    for d in dead.values():
        if told.get(d.profile) == d.incident:
            continue
        text = f"{d.profile} needs a new login: {d.message}\nFix: {d.fix}"
        try:
            await ctx.sender.send_plain(owner.chat_id, text)
        except TelegramError as exc:
            log.warning("could not tell the owner about %s: %s", d.profile, type(exc).__name__)
            continue
        ctx.store.tell(d.profile, d.incident, now=ctx.clock.now())

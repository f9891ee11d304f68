"""The Telegram channel's latency: from a person's message reaching the Bot API (the tests'
emulator) to the bot's first draft in the chat and to its final message, through a running
`clawgate gateway run`; beside it, the same answer from the upstream (the tests' fake model
API) called directly: time to its first token and to its end.

    .venv/bin/python bench/telegram.py [--runs N] [--tokens T] [--pace S] [--poll S]

The gateway polls the emulator every ``--poll`` seconds (the emulator answers getUpdates at
once; a real Bot API holds the poll open, so an update is seen as it arrives). ``--pace`` is
the upstream's time between tokens. Prints p50/p90 in ms; asserts nothing. Needs
`npm ci --prefix tests/servers`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

# The checkout instead of bench/ itself: this file's name would shadow the `telegram` package.
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.channels.conftest import document
from tests.channels.emulator import Emulator, emulator, wait_for
from tests.fakes.model_api import FakeModelAPI, Reply, Seen, chat_frames, stream
from tests.gateway.running import start_gateway

USER = 1001


def direct(api: FakeModelAPI, runs: int) -> tuple[list[float], list[float]]:
    """The upstream called directly: first token and end, in ms."""
    firsts, ends = [], []
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=60) as http:
        for _ in range(runs):
            start = time.perf_counter()
            first = None
            with http.stream("POST", f"{api.url}/up/v1/chat/completions", json=body) as answer:
                for line in answer.iter_lines():
                    if first is None and '"content": "tok' in line:
                        first = time.perf_counter()
            ends.append((time.perf_counter() - start) * 1000)
            firsts.append(((first or time.perf_counter()) - start) * 1000)
    return firsts, ends


def through_telegram(tg: Emulator, token: str, runs: int) -> tuple[list[float], list[float]]:
    """A message to the bot: its first draft and its final message, in ms (the emulator's
    clock, which is this machine's)."""
    firsts, finals = [], []
    for n in range(runs):
        before = len(tg.chat(token, USER))
        sent = time.time() * 1000
        tg.says(token, USER, f"question {n}")

        def done(before: int = before) -> dict[str, object] | None:
            chat = tg.chat(token, USER)
            new = chat[before:] if len(chat) > before else []
            return next((m for m in new if m["parse_mode"] == "HTML"), None)

        final = wait_for(done, within=60, what="the answer")
        edits = final["edits"]
        assert isinstance(edits, list)
        firsts.append(float(final["at"]) - sent)  # type: ignore[arg-type]
        finals.append((float(edits[-1]["at"]) if edits else float(final["at"])) - sent)  # type: ignore[arg-type]
    return firsts, finals


def row(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{name:<44} {statistics.median(ordered):>8.1f} {p90:>8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--pace", type=float, default=0.02)
    parser.add_argument("--poll", type=float, default=0.02)
    args = parser.parse_args()
    parts = tuple(f"tok{i} " for i in range(args.tokens))

    def answer(seen: Seen) -> Reply:
        return replace(stream(chat_frames(parts).all()), pace=args.pace)

    with FakeModelAPI() as api, emulator() as tg, tempfile.TemporaryDirectory() as tmp:
        api.default = answer
        token = tg.new_token()
        config = document(api, tg, pollInterval=args.poll)
        gateway = start_gateway(Path(tmp) / "state", api, document=config)
        try:
            gateway.cli("channels", "telegram", "add", "--token-stdin", stdin=token)
            gateway.cli("channels", "telegram", "allow", str(USER))
            through_telegram(tg, token, 1)  # warm up: the first turn opens connections
            tg_first, tg_final = through_telegram(tg, token, args.runs)
        finally:
            gateway.stop()
        up_first, up_end = direct(api, args.runs)
    pace, poll = args.pace * 1000, args.poll * 1000
    print(f"{args.runs} runs, {args.tokens} tokens {pace:.0f} ms apart, poll {poll:.0f} ms")
    print(f"{'ms':<44} {'p50':>8} {'p90':>8}")
    print(row("upstream direct: first token", up_first))
    print(row("upstream direct: end of answer", up_end))
    print(row("telegram: update → first draft in the chat", tg_first))
    print(row("telegram: update → final message", tg_final))


if __name__ == "__main__":
    main()

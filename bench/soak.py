"""Sustained hostile and good traffic through one gateway: does its memory plateau, and is
any answer a 5xx?

    .venv/bin/python bench/soak.py [--requests N] [--concurrency C] [--seed S]
                                   [--gateway-src DIR] [--tracemalloc FRAMES]

One `clawgate gateway run` (the tests' `start_gateway`) in front of a fast fake upstream
(the tests' fake model API, answering as api.openai.com does: a success for the configured
model ``m``, a 404 ``model_not_found`` for any other, and 503s from the provider ``x1``, an
upstream that is down). C clients send N requests, mixed: good turns on every surface
(Chat Completions streamed and not, Responses, Messages, the model list, the decision
records, now and then the most one answer may hold) and malformed or hostile ones (bodies
that are not JSON, nested deep, not UTF-8, lone surrogates, wrong shapes, model refs chosen at
random, long, upper-case, non-Latin-1 or holding control characters, bad control-API queries).

Prints the gateway's RSS at each tenth of the run, its growth over the second half (goal:
under 5 %), every 5xx (goal: none but the down upstream's) and unanswered request by kind,
its stderr's tracebacks, and what the run left in state.db. ``--tracemalloc``
traces the gateway's allocations (that many frames each) and prints what grew most between
the middle and the end of the run: where to look when RSS does not plateau. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import sqlite3
import string
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.fakes.model_api import (
    OPENAI,
    FakeModelAPI,
    Reply,
    Seen,
    chat_frames,
    chat_json,
    stream,
)
from tests.gateway.running import start_gateway

HELLO = [{"role": "user", "content": "Say hello."}]
COUNTS = {  # what in state.db could grow with traffic
    "turns": "SELECT count(*) FROM turns",
    "attempts": "SELECT count(*) FROM attempts",
    "health marks": "SELECT count(*) FROM health",
    "usage rows": "SELECT count(*) FROM usage",
}
DOWN = "ref model of a down upstream"  # its 5xx say the upstream failed: not a goal's miss

# Loaded into the gateway process through PYTHONPATH when --tracemalloc is given: SIGUSR1
# writes a snapshot (to a temporary name first, so a half-written one is never read).
SITECUSTOMIZE = """\
import os, signal, tracemalloc
_out = os.environ.get("CLAWGATE_SOAK_SNAPSHOTS")
if _out:
    tracemalloc.start(int(os.environ.get("CLAWGATE_SOAK_FRAMES", "1")))
    _taken = [0]
    def _snapshot(signum, frame):
        _taken[0] += 1
        path = os.path.join(_out, f"{_taken[0]}.snap")
        tracemalloc.take_snapshot().dump(path + ".part")
        os.replace(path + ".part", path)
    signal.signal(signal.SIGUSR1, _snapshot)
"""


# -- the upstream ----------------------------------------------------------------------------


def upstream(seen: Seen) -> Reply:
    """api.openai.com's answers: the model ``m`` answers, any other is not found; the
    provider ``x1`` is down."""
    if seen.path.startswith("/x1/"):
        return OPENAI["503"]
    body = seen.body if isinstance(seen.body, dict) else {}
    if body.get("model") != "m":
        return OPENAI["model"]
    if body.get("stream") is True:
        return stream(chat_frames().all())
    return Reply(body=chat_json())


# -- the traffic -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    kind: str
    method: str
    path: str
    content: bytes = b""


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _word(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _chat(model: str, **fields: object) -> bytes:
    return _json({"model": model, "messages": HELLO, **fields})


def _good(rng: random.Random) -> Ask:
    pick = rng.randrange(6)
    if pick == 0:
        return Ask("good chat", "POST", "/v1/chat/completions", _chat("clawgate"))
    if pick == 1:
        return Ask("good chat stream", "POST", "/v1/chat/completions", _chat("up/m", stream=True))
    if pick == 2:
        body = _json({"model": "up/m", "input": "Say hello."})
        return Ask("good responses", "POST", "/v1/responses", body)
    if pick == 3:
        body = _json({"model": "up/m", "max_tokens": 32, "messages": HELLO})
        return Ask("good messages", "POST", "/v1/messages", body)
    if pick == 4:
        return Ask("good models", "GET", "/v1/models")
    if rng.random() < 0.05:  # the most one answer may hold: large, but bounded
        return Ask("good decisions, most", "GET", "/control/decisions?last=1000")
    return Ask("good decisions", "GET", "/control/decisions?last=5")


def _odd_ref(rng: random.Random) -> Ask:
    """A well-formed body whose model ref is chosen by the caller, at random."""
    pick = rng.randrange(7)
    if pick == 0:
        model, kind = f"{_word(rng)}/{_word(rng)}", "ref unknown provider"
    elif pick == 1:
        model, kind = f"up/{_word(rng, 12)}", "ref unknown model"
    elif pick == 2:
        model, kind = f"x1/{_word(rng, 12)}", DOWN
    elif pick == 3:
        model, kind = f"up/{_word(rng, rng.randrange(1000, 20000))}", "ref long"
    elif pick == 4:
        model, kind = rng.choice(["UP/m", "Up/M", "up/M"]), "ref upper-case"
    elif pick == 5:
        model, kind = f"up/{rng.choice(['é', '中', '🦀'])}{_word(rng)}", "ref not latin-1"
    else:
        model, kind = "up/a" + rng.choice("\n\r\x00") + _word(rng), "ref control char"
    surface = rng.randrange(4)
    if surface == 0:
        return Ask(kind, "POST", "/v1/chat/completions", _chat(model))
    if surface == 1:
        return Ask(kind, "POST", "/v1/responses", _json({"model": model, "input": "hi"}))
    if surface == 2:
        body = _json({"model": model, "max_tokens": 8, "messages": HELLO})
        return Ask(kind, "POST", "/v1/messages", body)
    return Ask(kind, "GET", "/v1/models/" + urllib.parse.quote(model, safe="/"))


def _malformed(rng: random.Random) -> Ask:
    chat = "/v1/chat/completions"
    pick = rng.randrange(12)
    if pick == 0:
        return Ask("not json", "POST", chat, b'{"model": "clawgate", "messages": [')
    if pick == 1:
        depth = rng.randrange(2_000, 100_000)
        nested = b'{"model": "clawgate", "messages": ' + b"[" * depth + b"]" * depth + b"}"
        return Ask("nested json", "POST", rng.choice([chat, "/v1/responses"]), nested)
    if pick == 2:
        body = b'{"model": "clawgate", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
        return Ask("invalid utf-8", "POST", chat, body)
    if pick == 3:
        body = b'{"model": "clawgate", "messages": [{"role": "user", "content": "\\ud800"}]}'
        return Ask("lone surrogate", "POST", rng.choice([chat, "/v1/messages"]), body)
    if pick == 4:
        return Ask("wrong types", "POST", chat, _json({"model": 5, "messages": "hi"}))
    if pick == 5:
        shape = rng.choice([[{}], [1, 2], [{"role": "wizard", "content": "x"}], {"a": 1}, None])
        return Ask("odd messages", "POST", chat, _json({"model": "clawgate", "messages": shape}))
    if pick == 6:
        return Ask("not an object", "POST", rng.choice([chat, "/v1/messages"]), b"[1, 2, 3]")
    if pick == 7:
        body = _json({"model": "up/m", "input": rng.choice([5, [{"type": "x"}], {"a": 1}])})
        return Ask("odd responses input", "POST", "/v1/responses", body)
    if pick == 8:
        body = _json({"model": "up/m", "max_tokens": "x", "messages": [{"role": "x"}]})
        return Ask("odd messages body", "POST", "/v1/messages", body)
    if pick == 9:
        last = rng.choice(["abc", "-1", "1e9", "99999999999999999999999", "%00"])
        return Ask("control last", "GET", f"/control/decisions?last={last}")
    if pick == 10:
        return Ask("control probe body", "POST", "/control/probe", b"[1]")
    return Ask("empty body", "POST", rng.choice([chat, "/v1/responses", "/v1/messages"]))


def traffic(seed: int) -> Callable[[], Ask]:
    """Half good requests, a quarter odd model refs, a quarter malformed."""
    rng = random.Random(seed)

    def next_ask() -> Ask:
        roll = rng.random()
        if roll < 0.5:
            return _good(rng)
        return _odd_ref(rng) if roll < 0.75 else _malformed(rng)

    return next_ask


# -- the run -----------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Tally:
    total: int
    marks: list[tuple[int, float]] = field(default_factory=list)  # (requests done, RSS)
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    unanswered: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    done: int = 0


def _snapshot(pid: int, folder: Path, n: int) -> Path:
    """The gateway's allocations now (the clients wait while it writes them)."""
    os.kill(pid, signal.SIGUSR1)
    path = folder / f"{n}.snap"
    while not path.exists():
        time.sleep(0.05)
    return path


async def run(
    url: str, token: str, pid: int, tally: Tally, concurrency: int, seed: int, snaps: Path | None
) -> list[Path]:
    next_ask = traffic(seed)
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    tenth = max(1, tally.total // 10)
    taken: list[Path] = []
    sent = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < tally.total:
            sent += 1
            ask = next_ask()
            try:
                answer = await http.request(
                    ask.method, url + ask.path, content=ask.content or None, headers=headers
                )
                tally.statuses[(ask.kind, answer.status_code)] += 1
            except httpx.HTTPError as exc:
                tally.unanswered[(ask.kind, type(exc).__name__)] += 1
            tally.done += 1
            if tally.done % tenth == 0:
                tally.marks.append((tally.done, rss_mib(pid)))
                if snaps is not None and tally.done // tenth in (5, 10):
                    taken.append(_snapshot(pid, snaps, len(taken) + 1))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return taken


def report(tally: Tally, start_rss: float, seconds: float, concurrency: int) -> None:
    print(
        f"{tally.done} requests, concurrency {concurrency}, {seconds:.0f} s "
        f"({tally.done / seconds:.0f} req/s), one gateway, fake upstream on loopback"
    )
    print(f"gateway RSS (MiB): start {start_rss:.1f}")
    for done, rss in tally.marks:
        print(f"  after {done:>7} requests: {rss:7.1f}")
    if len(tally.marks) >= 10:
        middle, end = tally.marks[4][1], tally.marks[9][1]
        growth = (end - middle) / middle * 100
        verdict = "ok" if growth < 5 else "OVER the 5 % goal"
        print(
            f"growth over the second half: {middle:.1f} -> {end:.1f} MiB, "
            f"{growth:+.1f} % ({verdict})"
        )
    fives = {k: n for k, n in tally.statuses.items() if k[1] >= 500}
    down = sum(n for (kind, _), n in fives.items() if kind == DOWN)
    print(
        f"5xx answers: {sum(fives.values())} "
        f"({down} from the upstream that is down, as they should be)"
    )
    for (kind, status), n in sorted(fives.items()):
        print(f"  {status} {kind}: {n}")
    print(f"unanswered: {sum(tally.unanswered.values())}")
    for (kind, error), n in sorted(tally.unanswered.items()):
        print(f"  {kind}: {error}: {n}")
    by_kind: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for (kind, status), n in tally.statuses.items():
        by_kind[kind][status] += n
    print("answers by kind:")
    for kind in sorted(by_kind):
        said = ", ".join(f"{s}: {n}" for s, n in sorted(by_kind[kind].items()))
        print(f"  {kind:32} {said}")


def grew(first: Path, last: Path, top: int = 15) -> None:
    """What was allocated and still held between the two snapshots, by place."""
    before = tracemalloc.Snapshot.load(str(first))
    after = tracemalloc.Snapshot.load(str(last))
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "traceback")
    print(f"tracemalloc, second half: {sum(s.size_diff for s in stats) / 1024:+.0f} KiB traced")
    for stat in stats[:top]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format()[-8:]:
            print(f"      {line.strip()}")


async def main(args: argparse.Namespace) -> None:
    environ: dict[str, str] = {}
    with FakeModelAPI() as api, tempfile.TemporaryDirectory() as tmp:
        api.default = upstream
        paths = []
        if args.gateway_src:
            # Another checkout's gateway: its own code, and the token through the environment
            # (where another version keeps its token may differ), as bench/overhead.py does.
            paths.append(str(args.gateway_src))
            environ.update({"CLAWGATE_GATEWAY_TOKEN": "cg-soak-token"})
        snaps: Path | None = None
        if args.tracemalloc:
            snaps = Path(tmp) / "snapshots"
            snaps.mkdir()
            (Path(tmp) / "sitecustomize.py").write_text(SITECUSTOMIZE)
            paths.append(tmp)
            environ["CLAWGATE_SOAK_SNAPSHOTS"] = str(snaps)
            environ["CLAWGATE_SOAK_FRAMES"] = str(args.tracemalloc)
        if paths:
            environ["PYTHONPATH"] = os.pathsep.join(paths)
        running = start_gateway(Path(tmp) / "state", api, environ=environ)
        said = _drain(running.process.stderr)
        # The fake upstream keeps every request it saw: not what this run measures.
        api.seen = _Forgetful()
        tally = Tally(args.requests)
        try:
            start_rss = rss_mib(running.process.pid)
            began = time.perf_counter()
            taken = await run(
                running.url,
                running.token,
                running.process.pid,
                tally,
                args.concurrency,
                args.seed,
                snaps,
            )
            seconds = time.perf_counter() - began
        finally:
            running.stop()
        report(tally, start_rss, seconds, args.concurrency)
        print(f"state.db: {_rows(running.state / 'state.db')}")
        print(f"gateway stderr: {said['lines']} lines, {said['tracebacks']} tracebacks")
        for line in said["first"]:
            print(f"  {line.rstrip()}")
        if len(taken) == 2:
            grew(*taken)


def _rows(db: Path) -> str:
    """How much the run left in state.db: what could grow with it."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        counts = {name: conn.execute(sql).fetchone()[0] for name, sql in COUNTS.items()}
    return (
        ", ".join(f"{n} {name}" for name, n in counts.items()) + f", {db.stat().st_size >> 10} KiB"
    )


def _drain(stderr: IO[str] | None) -> dict[str, Any]:
    """Read the gateway's stderr as it comes (a full pipe would stall it), counting."""
    said: dict[str, Any] = {"lines": 0, "tracebacks": 0, "first": []}

    def read() -> None:
        assert stderr is not None
        for line in stderr:
            said["lines"] += 1
            said["tracebacks"] += line.startswith("Traceback")
            if len(said["first"]) < 20:
                said["first"].append(line)

    threading.Thread(target=read, daemon=True).start()
    return said


class _Forgetful(list[Seen]):
    def append(self, seen: Seen) -> None:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gateway-src", type=Path, help="run this src/ as the gateway")
    parser.add_argument(
        "--tracemalloc", type=int, metavar="FRAMES", help="trace the gateway's allocations"
    )
    asyncio.run(main(parser.parse_args()))

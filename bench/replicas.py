"""Several gateways on one PostgreSQL database: what the shared state costs a turn, and what
one, two and three `clawgate gateway run` replicas serve on this machine.

    .venv/bin/python bench/replicas.py [--rounds R] [--turns N] [--seconds S]
                                       [--concurrency C] [--skip-turns] [--skip-replicas]

Needs PostgreSQL (Debian's ``postgresql`` package: a throwaway server is started in a
temporary directory, as in the tests, tests/postgres.py; fsync off, loopback) and ``hey`` (a
load generator written in Go: ``sudo apt-get install -y hey``). Without either it stops and
says how to get it.

Prints, median [min-max] over the rounds:
- (a) a turn's records through the real stores (`clawgate.state.State`), SQLite's
  ``state.db`` (and the vault's files) against PostgreSQL: the vault's profile ids and the
  answering profile's generation (`routing.VaultProfiles`, `ProfileCache.fresh`: read every
  turn, so a login through another replica counts at once), on PostgreSQL the health marks
  (`Health.sync`, read before each turn for the same reason; SQLite's stay in memory), the
  history read of a session holding ten messages, the decision record (the turn and one
  attempt), the usage row and the append of the turn's two messages;
- (b) requests/s of one SQLite gateway, and of one, two and three PostgreSQL replicas (each
  its own state directory and port, one database, the same vault key) behind no balancer:
  each replica's port driven by its own ``hey`` for the same wall time, the rates summed.
  The total concurrency is the same for every row (split between the replicas), and the
  upstream is bench/overhead.py's static responder. Beside each rate: the machine's cores in
  use meanwhile (/proc/stat), and the CPU per request of the gateways and of the PostgreSQL
  server's processes. Asserts nothing.

Everything runs on this machine: hey, the responder, PostgreSQL and the replicas share its
cores, so on two cores a second replica mostly takes CPU from the others; the figures say
what one machine allows, not what replicas on several machines would.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from overhead import BODY, bench_config, tree_cpu_seconds  # type: ignore[import-not-found]
from tests.gateway.running import RunningGateway, start_gateway

from clawgate.state import (
    AttemptRecord,
    HealthMark,
    State,
    StoredMessage,
    TurnRecord,
    UsageRecord,
    open_postgres,
)
from clawgate.vault import KeyResolver, ProfileCache, Vault
from vault import seeded  # type: ignore[import-not-found]

NEEDS_HEY = "bench/replicas.py needs `hey`: sudo apt-get install -y hey"
NEEDS_POSTGRES = "bench/replicas.py needs PostgreSQL: sudo apt-get install -y postgresql"
PROFILE = "openai-codex:me@example.com"
STEPS = (
    "profile list",
    "vault check",
    "health marks",
    "history read",
    "decision record",
    "usage row",
    "append",
)


def spread(values: list[float], fmt: str = ".3f") -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


# --- (a) a turn's records --------------------------------------------------------------------


def _message(role: str, text: str) -> StoredMessage:
    return StoredMessage(role, text, json.dumps({"role": role, "content": text}))


def turn_steps(state: State, cache: ProfileCache, turns: int) -> dict[str, float]:
    """Milliseconds per turn for each step, over ``turns`` turns, each on a session of its own
    that already holds ten messages (written first, untimed)."""
    sessions = [f"bench:{uuid.uuid4().hex}" for _ in range(turns)]
    for key in sessions:
        earlier = [_message(r, f"{r} {i}") for i in range(5) for r in ("user", "assistant")]
        state.sessions.append(key, uuid.uuid4().hex, earlier, now=time.time())
    spent: dict[str, float] = {}

    def timed(step: str, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        fn(*args, **kwargs)
        spent[step] = spent.get(step, 0.0) + time.perf_counter() - started

    for key in sessions:
        turn_id = uuid.uuid4().hex
        now = time.time()
        attempt = AttemptRecord(
            "openai-codex/gpt-5", PROFILE, "succeeded", first_token_ms=310.0, end_ms=920.0
        )
        record = TurnRecord(
            turn_id, key, "clawgate", now - 1, now, "succeeded", "openai-codex/gpt-5", PROFILE,
            attempts=(attempt,),
        )  # fmt: skip
        usage = UsageRecord(turn_id, "openai-codex", "gpt-5", PROFILE, "subscription", 812, 64, now)
        new = [_message("user", "What is on today?"), _message("assistant", "Two meetings.")]
        timed("profile list", cache.vault.profile_ids)
        timed("vault check", cache.is_stale, PROFILE)
        if state.backend == "postgres":  # read again before each turn where replicas share it
            timed("health marks", state.health.all)
        timed("history read", state.sessions.history, key)
        timed("decision record", state.decisions.record, record)
        timed("usage row", state.usage.add, usage)
        timed("append", state.sessions.append, key, turn_id, new, now=now)
    return {step: seconds / turns * 1000 for step, seconds in spent.items()}


def _vault(root: Path, url: str | None) -> Vault:
    where = root / "vault"
    keys = KeyResolver(where, {})
    if url is None:
        return Vault(where, keys)
    from clawgate.vault._postgres import PostgresStorage

    return Vault(where, keys, storage=lambda v: PostgresStorage(url, v.key))


def turn_cost(url: str, rounds: int, turns: int) -> None:
    figures: dict[str, dict[str, list[float]]] = {"sqlite": {}, "postgres": {}}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        opened: dict[str, tuple[State, ProfileCache]] = {}
        for backend in figures:
            state = (
                State.open(tmp / "state.db") if backend == "sqlite" else State(open_postgres(url))
            )
            stack.callback(state.close)
            vault = _vault(tmp / backend, url if backend == "postgres" else None)
            stack.callback(vault.close)
            cache, _ = seeded(vault)  # bench/vault.py's login
            for i in range(5):  # a few cooldowns and circuits, as a working gateway has
                state.health.put(
                    HealthMark(f"cooldown|p{i}|m", "cooldown", f"p{i}", "m", 1, 0, 1, 0, "x", 0)
                )
            opened[backend] = (state, cache)
            turn_steps(state, cache, 50)  # warm: connections, statements, pages
        for _ in range(rounds):  # interleaved, so that a busy moment touches both
            for backend, (state, cache) in opened.items():
                for step, ms in turn_steps(state, cache, turns).items():
                    figures[backend].setdefault(step, []).append(ms)

    print(f"(a) a turn's records, ms per turn: {rounds} interleaved rounds of {turns} turns")
    print(f"{'':18}{'sqlite (state.db)':>24}{'postgres (loopback)':>24}{'added':>10}")
    totals = {backend: [0.0] * rounds for backend in figures}
    for step in STEPS:
        line = f"{step:18}"
        for backend, steps in figures.items():
            done = steps.get(step, [0.0] * rounds)
            line += f"{spread(done) if step in steps else 'not per turn':>24}"
            totals[backend] = [t + v for t, v in zip(totals[backend], done, strict=True)]
        added = statistics.median(figures["postgres"][step]) - statistics.median(
            figures["sqlite"].get(step, [0.0])
        )
        print(f"{line}{added:+10.3f}")
    added = statistics.median(totals["postgres"]) - statistics.median(totals["sqlite"])
    whole = f"{spread(totals['sqlite']):>24}{spread(totals['postgres']):>24}"
    print(f"{'whole turn':18}{whole}{added:+10.3f}")


# --- (b) replicas ----------------------------------------------------------------------------


def hey_for(url: str, seconds: float, concurrency: int, token: str) -> subprocess.Popen[str]:
    """``hey`` for ``seconds`` of non-streamed calls with keep-alive, started, not awaited."""
    args = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-m", "POST"]
    args += ["-T", "application/json", "-d", json.dumps(BODY)]
    args += ["-H", f"Authorization: Bearer {token}", url]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def rate(process: subprocess.Popen[str], url: str) -> float:
    out, _ = process.communicate()
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    if any(code != "200" for code, _ in codes) or "Error distribution" in out:
        raise RuntimeError(f"hey saw errors from {url}:\n{out[out.find('Status code') :]}")
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"hey said nothing usable:\n{out}")
    return float(match.group(1))


def machine_busy() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot (/proc/stat's first line)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class Figure:
    rate: float  # requests/s, summed over the replicas
    busy: float  # the machine's cores in use, on average (2.0 = both cores)
    cpu_ms: float  # the replicas' CPU per request
    db_ms: float  # PostgreSQL's CPU per request (its server processes)


def together(
    gateways: list[RunningGateway], seconds: float, concurrency: int, db_pid: int
) -> Figure:
    """Every replica driven at once by its own hey; their rates summed, and what it took."""
    path = "/v1/chat/completions"
    each = max(1, concurrency // len(gateways))
    cpu = sum(tree_cpu_seconds(g.process.pid) for g in gateways)
    db = tree_cpu_seconds(db_pid)
    busy, ticks = machine_busy()
    started = [(g.url + path, hey_for(g.url + path, seconds, each, g.token)) for g in gateways]
    total = sum(rate(process, url) for url, process in started)
    busy_after, ticks_after = machine_busy()
    cpu = sum(tree_cpu_seconds(g.process.pid) for g in gateways) - cpu
    db = tree_cpu_seconds(db_pid) - db
    served = max(1.0, total * seconds)
    cores = (os.cpu_count() or 1) * (busy_after - busy) / max(1, ticks_after - ticks)
    return Figure(total, cores, cpu / served * 1000, db / served * 1000)


@contextlib.contextmanager
def upstream() -> Iterator[str]:
    """bench/overhead.py's static responder in its own process; its URL."""
    overhead = Path(__file__).with_name("overhead.py")
    process = subprocess.Popen(
        [sys.executable, str(overhead), "--serve-upstream", "--tokens", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield f"http://127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def throughput(url: str, db_pid: int, rounds: int, seconds: float, concurrency: int) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    shared = {"CLAWGATE_DATABASE_URL": url, "CLAWGATE_VAULT_KEY": key}
    figures: dict[str, list[Figure]] = {}
    with contextlib.ExitStack() as stack:
        up_url = stack.enter_context(upstream())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))

        def gateway(name: str, environ: dict[str, str], state: dict[str, str]) -> RunningGateway:
            document = {**bench_config(up_url), "state": state}
            running = start_gateway(tmp / name, cast(Any, None), environ=environ, document=document)
            stack.callback(running.stop)
            return running

        sqlite = gateway("sqlite", {"CLAWGATE_VAULT_KEY": key}, {"backend": "sqlite"})
        replicas = [gateway(f"r{i}", shared, {"backend": "postgres"}) for i in (1, 2, 3)]
        rows = {"sqlite, 1 gateway": [sqlite]}
        rows |= {f"postgres, {n} replica{'s' * (n > 1)}": replicas[:n] for n in (1, 2, 3)}
        for gateways in rows.values():  # warm every replica (and hey's connections)
            together(gateways, 2, concurrency, db_pid)
        for _ in range(rounds):  # interleaved
            for name, gateways in rows.items():
                figures.setdefault(name, []).append(
                    together(gateways, seconds, concurrency, db_pid)
                )

    print(
        f"(b) non-streamed calls, hey for {seconds:g} s a figure, total concurrency {concurrency} "
        f"split between the replicas, {rounds} interleaved rounds"
    )
    head = f"{'':24}{'requests/s':>22}{'vs 1 replica':>14}{'cores busy':>16}"
    print(f"{head}{'gateways CPU ms/req':>22}{'postgres CPU ms/req':>22}")
    base = statistics.median(f.rate for f in figures["postgres, 1 replica"])
    for name, values in figures.items():
        rates = [f.rate for f in values]
        ratio = statistics.median(rates) / base
        busy = spread([f.busy for f in values], ".1f")
        cpu = spread([f.cpu_ms for f in values], ".2f")
        db = spread([f.db_ms for f in values], ".2f")
        print(f"  {name:22}{spread(rates, '.0f'):>22}{ratio:13.2f}x{busy:>16}{cpu:>22}{db:>22}")


def main(args: argparse.Namespace) -> None:
    if shutil.which("hey") is None and not args.skip_replicas:
        sys.exit(NEEDS_HEY)
    from tests.postgres import postgres_bin, running_postgres

    try:
        postgres_bin()
    except RuntimeError:
        sys.exit(NEEDS_POSTGRES)

    cores = os.cpu_count()
    load = os.getloadavg()
    print(f"{cores} cores; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start")
    with running_postgres() as server:
        if not args.skip_turns:
            turn_cost(server.database(), args.rounds, args.turns)
        if not args.skip_replicas:
            assert server.pid is not None
            throughput(server.database(), server.pid, args.rounds, args.seconds, args.concurrency)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--turns", type=int, default=300, help="turns per round, (a)")
    parser.add_argument("--seconds", type=float, default=5, help="hey's time per figure, (b)")
    parser.add_argument("--concurrency", type=int, default=30, help="total, (b)")
    parser.add_argument("--skip-turns", action="store_true", help="leave out (a)")
    parser.add_argument("--skip-replicas", action="store_true", help="leave out (b)")
    main(parser.parse_args())

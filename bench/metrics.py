"""What the metrics cost: recording one turn (`clawgate.metrics.turn`, a fallback turn with two
attempts and four token counts) and answering one scrape (`exposition`) with the series of 20
models and 5 client keys, in one process and in multiprocess mode (a fresh
``PROMETHEUS_MULTIPROC_DIR``, as ``gateway run --workers N`` gives its workers).

    .venv/bin/python bench/metrics.py [--turns 20000]

Each mode runs in a fresh process. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

MODELS = [f"p{n}/m" for n in range(20)]
KEYS = [f"key{n}" for n in range(5)]


def measure(turns: int) -> None:
    from clawgate import metrics
    from clawgate.providers import Usage
    from clawgate.state import AttemptRecord, TurnRecord

    known = set(MODELS).__contains__
    failed = AttemptRecord(MODELS[0], "p0:default", "failed", reason="rate_limit", end_ms=30)
    records = []
    for n, model in enumerate(MODELS):
        answered = AttemptRecord(model, "p:default", "succeeded", first_token_ms=120, end_ms=800)
        records.append(
            TurnRecord(
                turn_id="t",
                session_key=None,
                requested=MODELS[0],
                started_at=0.0,
                ended_at=1.0,
                outcome="succeeded",
                model=model,
                fallback=True,
                attempts=(failed, answered),
                client_key=KEYS[n % len(KEYS)],
            )
        )
    used = Usage(100, 20, 50, 5)
    for record in records:  # every series exists before the clock starts
        metrics.turn(record, used, known)
    started = time.perf_counter()
    for n in range(turns):
        metrics.turn(records[n % len(records)], used, known)
    per_turn = (time.perf_counter() - started) / turns
    scrapes = 50
    started = time.perf_counter()
    for _ in range(scrapes):
        size = len(metrics.exposition())
    per_scrape = (time.perf_counter() - started) / scrapes
    mode = "multiprocess" if metrics.multiprocess() else "one process "
    print(
        f"{mode}: {per_turn * 1e6:6.1f} µs to record a turn, "
        f"{per_scrape * 1e3:6.1f} ms to answer a scrape ({size} bytes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.turns)
        return
    command = [sys.executable, __file__, "--measure", "--turns", str(args.turns)]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    subprocess.run(command, env=env, check=True)
    with tempfile.TemporaryDirectory() as shared:
        subprocess.run(command, env={**env, "PROMETHEUS_MULTIPROC_DIR": shared}, check=True)


if __name__ == "__main__":
    main()

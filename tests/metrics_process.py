"""One process of a multi-process gateway, as far as `clawgate.metrics` sees it, for
tests/test_metrics.py. Run as ``python tests/metrics_process.py COMMAND …``:

- ``record N``: record N answered turns (with tokens and a latency), then hold a stream open
  until stdin closes (prints ``held`` once it does);
- ``scrape``: print what a scrape of this process answers (`metrics.exposition`);
- ``fork DIR N``: import without ``PROMETHEUS_MULTIPROC_DIR``, set it to DIR, fork N workers
  that record a turn each (a supervisor does this: `gateway._workers`).
"""

from __future__ import annotations

import os
import sys

from clawgate import metrics
from clawgate.providers import Usage
from clawgate.state import AttemptRecord, TurnRecord

STREAM = "/v1/chat/completions"


def record(count: int) -> None:
    attempt = AttemptRecord("up/m", "up:default", "succeeded", first_token_ms=120, end_ms=800)
    for n in range(count):
        turn = TurnRecord(
            turn_id=f"t{os.getpid()}-{n}",
            session_key=None,
            requested="up/m",
            started_at=0.0,
            ended_at=1.0,
            outcome="succeeded",
            model="up/m",
            profile="up:default",
            attempts=(attempt,),
            client_key="phone",
        )
        metrics.turn(turn, Usage(10, 2), {"up/m"}.__contains__)


def main(command: str, *args: str) -> None:
    if command == "record":
        record(int(args[0]))
        with metrics.ACTIVE_STREAMS.labels(STREAM).track_inprogress():
            print("held", flush=True)
            sys.stdin.read()
    elif command == "scrape":
        sys.stdout.write(metrics.exposition().decode())
    elif command == "fork":
        assert not metrics.multiprocess()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = args[0]
        children = []
        for _ in range(int(args[1])):
            pid = os.fork()
            if pid == 0:
                record(1)
                os._exit(0 if metrics.multiprocess() else 3)
            children.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        print(codes, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""One process of the refresh storm: M concurrent callers ask the broker for the same
profile, then use what they got at the issuer's userinfo endpoint.

python -m tests.auth.broker_worker STATE_DIR CALLERS NOW
Waits for a line on stdin (so that all processes start together), prints one JSON line:
per caller, what the broker did, the generation, the userinfo status and the wait in ms.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from clawgate import auth
from clawgate.clock import ManualClock
from tests.auth.helpers import PROFILE, broker, settings
from tests.vault_backends import worker_env

ROOT = Path(__file__).parents[2]


def start_workers(
    state: Path, processes: int, callers: int, now: float
) -> list[subprocess.Popen[str]]:
    """Start the processes; each waits for `release`."""
    command = [sys.executable, "-m", "tests.auth.broker_worker", str(state), str(callers)]
    return [
        subprocess.Popen(
            [*command, str(now)],
            cwd=ROOT,
            env=worker_env(),  # the test's vault backend
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]


def release(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:  # all at once
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def collect(workers: list[subprocess.Popen[str]]) -> list[list[dict[str, Any]]]:
    """Each process's results, in order; a process that failed fails the caller."""
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, f"a worker exited with {worker.returncode}"
        results.append(json.loads(out))
    return results


async def main(state: Path, callers: int, now: float) -> None:
    clock = ManualClock(start=now)
    issuer = settings(state).models.providers["myidp"].oauth
    assert issuer is not None
    async with httpx.AsyncClient(timeout=30) as http:
        the_broker = broker(state, http, clock)
        sys.stdin.readline()

        async def caller() -> dict[str, object]:
            started = time.perf_counter()
            try:
                credential = await the_broker.credential(PROFILE)
            except auth.CredentialError as exc:
                return {"error": exc.code}
            waited = (time.perf_counter() - started) * 1000
            assert credential.token is not None
            me = await http.get(
                f"{issuer.issuer}/me",
                headers={"Authorization": f"Bearer {credential.token.reveal()}"},
            )
            return {
                "how": credential.how,
                "generation": credential.generation,
                "me": me.status_code,
                "ms": waited,
            }

        results = await asyncio.gather(*(caller() for _ in range(callers)))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))

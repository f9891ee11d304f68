"""Refresh storms: N processes x M concurrent callers meet one expired access token.

    .venv/bin/python bench/refresh_storm.py [--shapes 1x1,1x20,8x20,16x20]

Against the real authorization server of the tests (tests/servers, npm oidc-provider), each
shape gets a fresh login; then every process's callers ask the broker at once. Prints, per
shape, the refresh grants the token endpoint saw (the broker's promise: exactly one per
expiry), failures, and how long callers waited for a credential. Also the hot path: a
credential from memory. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.auth.broker_worker import collect, release, start_workers
from tests.auth.helpers import PROFILE, broker, device_login
from tests.oidc_server import OidcServer, oidc_server

from clawgate.clock import ManualClock


def storm(idp: OidcServer, processes: int, callers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        clock = ManualClock()
        asyncio.run(device_login(idp, state, clock))
        before = idp.refreshes()
        workers = start_workers(state, processes, callers, clock.now() + 7200)
        time.sleep(1.0 + 0.15 * processes)  # let every process import and open the vault
        release(workers)
        calls = [call for process in collect(workers) for call in process]
        after = idp.refreshes()
    waits = sorted(float(c["ms"]) for c in calls if "ms" in c)
    return {
        "refreshes": after["success"] - before["success"],
        "refusals": after["error"] - before["error"],
        "ok": sum(1 for c in calls if c.get("me") == 200),
        "calls": len(calls),
        "p50": statistics.median(waits),
        "p99": waits[min(len(waits) - 1, int(len(waits) * 0.99))],
        "max": waits[-1],
    }


async def hot_path(idp: OidcServer, calls: int = 20000) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        clock = ManualClock()
        await device_login(idp, state, clock)
        async with httpx.AsyncClient() as http:
            the_broker = broker(state, http, clock)
            await the_broker.credential(PROFILE)
            started = time.perf_counter()
            for _ in range(calls):
                await the_broker.credential(PROFILE)
            return (time.perf_counter() - started) / calls


def main(shapes: list[tuple[int, int]]) -> None:
    with oidc_server(DEVICE_INTERVAL="1") as idp:
        print(
            f"{'NxM':>7} {'refresh grants':>15} {'refused':>8} {'ok/calls':>10} "
            f"{'wait p50':>9} {'p99':>8} {'max':>8}"
        )
        for processes, callers in shapes:
            r = storm(idp, processes, callers)
            print(
                f"{processes:>3}x{callers:<3} {r['refreshes']:>15.0f} {r['refusals']:>8.0f} "
                f"{r['ok']:>4.0f}/{r['calls']:<5.0f} {r['p50']:>7.1f}ms {r['p99']:>6.1f}ms "
                f"{r['max']:>6.1f}ms"
            )
        per_call = asyncio.run(hot_path(idp))
        print(f"hot path (valid credential from memory): {per_call * 1e9:.0f} ns per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1x1,1x20,8x20,16x20")
    args = parser.parse_args()
    main([tuple(int(n) for n in s.split("x")) for s in args.shapes.split(",")])  # type: ignore[misc]

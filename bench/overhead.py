"""What the gateway adds on top of the model it relays: a minimal upstream on loopback (the
tests' fake model API), called directly and through a running `clawgate gateway run`.

    .venv/bin/python bench/overhead.py [--requests N] [--concurrency C] [--tokens T]
                                       [--gateway-src DIR]

Prints a table: added latency p50/p99 at concurrency 1, throughput at concurrency C, streaming
time-to-first-token with and without the gateway, and the gateway's RSS idle and after load;
and whether the gateway asked the upstream for a streamed answer when its caller did not.
``--tokens`` makes each answer that many deltas long (a long answer is where relaying a stream
costs); ``--gateway-src`` runs another checkout's ``src/`` as the gateway, to compare before
and after a change. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.fakes.model_api import FakeModelAPI, Reply, Seen, chat_frames, chat_json, stream
from tests.gateway.running import start_gateway

BODY = {"model": "up/m", "messages": [{"role": "user", "content": "Say hello."}]}


def answers(tokens: int) -> Callable[[Seen], Reply]:
    """Every answer ``tokens`` deltas long, streamed or as one JSON body as asked."""
    parts = ("tok ",) * tokens

    def answer(seen: Seen) -> Reply:
        if isinstance(seen.body, dict) and seen.body.get("stream") is True:
            return stream(chat_frames(parts).all())
        return Reply(body=chat_json(parts))

    return answer


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def latencies(
    http: httpx.AsyncClient, url: str, n: int, headers: dict[str, str]
) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = await http.post(url, json=BODY, headers=headers)
        response.raise_for_status()
        out.append(time.perf_counter() - start)
    return out


async def throughput(
    http: httpx.AsyncClient, url: str, n: int, concurrency: int, headers: dict[str, str]
) -> float:
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            (await http.post(url, json=BODY, headers=headers)).raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def first_token(
    http: httpx.AsyncClient, url: str, n: int, headers: dict[str, str]
) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        seen: float | None = None
        async with http.stream("POST", url, json={**BODY, "stream": True}, headers=headers) as r:
            async for line in r.aiter_lines():  # read to the end, note the first text
                if seen is None and _has_text(line):
                    seen = time.perf_counter() - start
        assert seen is not None
        out.append(seen)
    return out


def _has_text(line: str) -> bool:
    if not line.startswith("data: {"):
        return False
    choices = json.loads(line[len("data: ") :]).get("choices") or [{}]
    return bool(choices[0].get("delta", {}).get("content"))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main(requests: int, concurrency: int, tokens: int, gateway_src: Path | None) -> None:
    environ = {}
    if gateway_src is not None:
        # Another checkout's gateway: its own code, and the token through the environment
        # (where an older version keeps its token may differ).
        environ = {"PYTHONPATH": str(gateway_src), "CLAWGATE_GATEWAY_TOKEN": "cg-bench-token"}
    with FakeModelAPI() as api, tempfile.TemporaryDirectory() as tmp:
        api.default = answers(tokens)
        running = start_gateway(Path(tmp) / "state", api, environ=environ)
        process, gateway, token = running.process, running.url, running.token
        try:
            direct_url = f"{api.url}/up/v1/chat/completions"
            via_url = f"{gateway}/v1/chat/completions"
            auth = {"Authorization": f"Bearer {token}"}
            limits = httpx.Limits(max_connections=concurrency * 2)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                await latencies(http, via_url, 20, auth)  # warm up both paths
                await latencies(http, direct_url, 20, {})
                idle = rss_mib(process.pid)
                direct = await latencies(http, direct_url, requests, {})
                api.seen.clear()
                via = await latencies(http, via_url, requests, auth)
                relayed = sum(1 for s in api.seen if isinstance(s.body, dict) and s.body["stream"])
                tput_direct = await throughput(http, direct_url, requests, concurrency, {})
                tput_via = await throughput(http, via_url, requests, concurrency, auth)
                ttft_direct = await first_token(http, direct_url, requests // 4, {})
                ttft_via = await first_token(http, via_url, requests // 4, auth)
                loaded = rss_mib(process.pid)
        finally:
            running.stop()
    print(
        f"{requests} requests, concurrency {concurrency}, answers of {tokens} deltas, "
        "fake upstream on loopback, 2 cores"
    )
    print(f"non-streamed calls the gateway sent upstream streamed: {relayed} of {len(via)}")
    print(f"{'':28}{'direct':>10}{'gateway':>10}{'added':>10}")
    for name, d, g in (
        ("latency p50 (ms)", pct(direct, 50), pct(via, 50)),
        ("latency p99 (ms)", pct(direct, 99), pct(via, 99)),
        ("first token p50 (ms)", pct(ttft_direct, 50), pct(ttft_via, 50)),
    ):
        print(f"{name:28}{d:10.2f}{g:10.2f}{g - d:10.2f}")
    print(f"{f'throughput c={concurrency} (req/s)':28}{tput_direct:10.0f}{tput_via:10.0f}")
    print(f"{'gateway RSS (MiB)':28}{'idle':>10}{idle:10.1f}")
    print(f"{'':28}{'loaded':>10}{loaded:10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=3, help="deltas per answer")
    parser.add_argument("--gateway-src", type=Path, help="run this src/ as the gateway")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.tokens, args.gateway_src))

"""What the provider transport costs per streamed event: a long Chat Completions stream from
the fake model API on loopback, read raw (httpx + httpx-sse + json.loads) and through clawgate's
transport (deadlines, JSON decoding, the wire state machine, normalized events).

    .venv/bin/python bench/provider_stream.py [--deltas N] [--rounds R]

Prints events per second and microseconds per event for both, and the difference: the
overhead clawgate adds to each token it relays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.fakes.model_api import FakeModelAPI, chat_frames, stream

from clawgate.config import ProviderSettings
from clawgate.providers import Message, ModelRequest, TextDelta
from clawgate.providers.openai import OpenAIProvider

HELLO = (Message("user", "Say hello."),)


async def raw(url: str) -> int:
    count = 0
    async with (
        httpx.AsyncClient() as http,
        aconnect_sse(http, "POST", url + "/chat/completions", json={"stream": True}) as source,
    ):
        async for sse in source.aiter_sse():
            if sse.data != "[DONE]":
                json.loads(sse.data)  # every real consumer decodes the event
            count += 1
    return count


async def clawgate(provider: OpenAIProvider) -> int:
    count = 0
    async for event in provider.stream(ModelRequest("m", HELLO)):
        count += isinstance(event, TextDelta)
    return count


async def main(deltas: int, rounds: int) -> None:
    parts = tuple(f"t{i} " for i in range(deltas))
    frames = chat_frames(parts).all()
    with FakeModelAPI() as api:
        url = api.url + "/v1"
        provider = OpenAIProvider("openai", ProviderSettings(base_url=url))
        results: dict[str, list[float]] = {"raw httpx-sse": [], "clawgate": []}
        for _ in range(rounds):
            for name, run in (
                ("raw httpx-sse", lambda: raw(url)),
                ("clawgate", lambda: clawgate(provider)),
            ):
                api.script(stream(frames))
                start = time.perf_counter()
                got = await run()
                results[name].append(time.perf_counter() - start)
                assert got >= deltas, (name, got)
        await provider.aclose()
    print(f"{deltas} deltas per stream, {rounds} rounds, median")
    per_event = {}
    for name, times in results.items():
        median = statistics.median(times)
        per_event[name] = median / deltas * 1e6
        print(f"  {name:14} {deltas / median:10.0f} events/s  {per_event[name]:6.1f} us/event")
    print(f"  overhead       {per_event['clawgate'] - per_event['raw httpx-sse']:6.1f} us/event")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.deltas, args.rounds))

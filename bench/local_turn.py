"""Embedded local model: load time, time to first token, tokens per second.

    .venv/bin/python bench/local_turn.py [--runs 5] [--max-tokens 64] [--model smollm2-135m]

Prints numbers; asserts nothing. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from clawgate.config import ProviderSettings
from clawgate.providers import Completed, Message, ModelRequest, TextDelta
from clawgate.providers.local import LocalProvider

# A different question each run, so llama.cpp's prompt cache does not flatter first-token time.
QUESTIONS = (
    "Explain in a few sentences why the sky is blue.",
    "What is a good way to learn to cook at home?",
    "Describe how a bicycle stays upright while moving.",
    "Give three tips for writing clear emails.",
    "Why do cats purr? Answer briefly.",
)


async def main(runs: int, max_tokens: int, model: str) -> None:
    provider = LocalProvider("local", ProviderSettings())
    started = time.perf_counter()
    await provider.engine(model)
    load = time.perf_counter() - started

    ttfts: list[float] = []
    rates: list[float] = []
    tokens: list[int] = []
    for run in range(runs):
        question = Message("user", QUESTIONS[run % len(QUESTIONS)])
        request = ModelRequest(model, (question,), max_tokens=max_tokens)
        started = time.perf_counter()
        first: float | None = None
        async for event in provider.stream(request):
            if isinstance(event, TextDelta) and first is None:
                first = time.perf_counter()
            elif isinstance(event, Completed):
                end = time.perf_counter()
                assert first is not None
                assert event.usage is not None
                ttfts.append(first - started)
                tokens.append(event.usage.output_tokens)
                # The first token's time is in TTFT; the rate counts the tokens after it.
                if event.usage.output_tokens > 1 and end > first:
                    rates.append((event.usage.output_tokens - 1) / (end - first))

    mean_tokens = statistics.mean(tokens)
    ttft_p50, ttft_max = statistics.median(ttfts) * 1000, max(ttfts) * 1000
    print(f"model            local/{model}")
    print(f"runs             {runs} x up to {max_tokens} tokens (mean {mean_tokens:.0f})")
    print(f"model load       {load * 1000:8.0f} ms")
    print(f"first token p50  {ttft_p50:8.0f} ms   max {ttft_max:.0f} ms")
    print(f"tokens/s p50     {statistics.median(rates):8.1f}      min {min(rates):.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.max_tokens, args.model))

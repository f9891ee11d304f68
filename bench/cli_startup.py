"""CLI start-up: the wall time of `clawgate --help` and `clawgate models status` (no network),
as a shell prompt or a cron job sees it: a fresh process each time.

    .venv/bin/python bench/cli_startup.py [--runs 15]

The status run has a state directory with three profiles (API key, OAuth, setup token), a
three-model chain, a few turns' decisions and usage, and no gateway. Prints numbers; asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clawgate.secret import Secret
from clawgate.state import State, UsageRecord
from clawgate.vault import ApiKeyMaterial, KeyResolver, OAuthMaterial, TokenMaterial, Vault

EXE = [sys.executable, "-m", "clawgate"]


def prepare(state: Path) -> None:
    state.mkdir(mode=0o700)
    config = {
        "agents": {
            "defaults": {
                "model": {
                    "primary": "openai-codex/gpt-5.5",
                    "fallbacks": ["anthropic/claude-opus-4-7", "local/smollm2-135m"],
                },
                "models": {"openai-codex/gpt-5.5": {"alias": "gpt"}},
            }
        }
    }
    (state / "clawgate.json").write_text(json.dumps(config))
    vault = Vault(state / "vault", KeyResolver(state / "vault", {}))
    now = time.time()
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("sk-bench-0000")))
    vault.save(
        "openai-codex:me@example.com",
        "openai-codex",
        OAuthMaterial(Secret("at-bench"), Secret("rt-bench"), expires_at=now + 86400),
    )
    vault.save(
        "anthropic:manual",
        "anthropic",
        TokenMaterial(Secret("sk-ant-oat01-bench"), expires_at=now + 86400 * 300),
    )
    db = State.open(state / "state.db")
    for n in range(50):
        db.usage.add(
            UsageRecord(f"t{n}", "openai", "gpt-4.1", "openai:default", "metered", 10, 5, now)
        )
    db.close()


def wall(args: list[str], env: dict[str, str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*EXE, *args], env=env, stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return samples


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prepare(state)
        env = {**os.environ, "CLAWGATE_STATE_DIR": str(state)}
        env.pop("CLAWGATE_VAULT_KEY", None)
        wall(["--version"], env, 1)  # warm the page cache
        python = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            python.append(time.perf_counter() - started)
        cases = {
            "python -c pass (floor)": python,
            "clawgate --help": wall(["--help"], env, runs),
            "clawgate models status": wall(["models", "status"], env, runs),
            "clawgate models status --json": wall(["models", "status", "--json"], env, runs),
        }
        print(f"{runs} runs each, wall time of a fresh process")
        for name, samples in cases.items():
            ms = sorted(s * 1000 for s in samples)
            print(
                f"  {name:32} median {statistics.median(ms):6.0f} ms   "
                f"min {ms[0]:6.0f} ms   max {ms[-1]:6.0f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    main(parser.parse_args().runs)

"""CLI start-up: the wall time of `clawgate --help` and `clawgate models status` (no network),
as a shell prompt or a cron job sees it: a fresh process each time.

    .venv/bin/python bench/cli_startup.py [--runs 15]

The status run has a state directory with three profiles (API key, OAuth, setup token), a
three-model chain, a few turns' decisions and usage, and no gateway. The cases run
interleaved, one of each per round, so a machine busy with other work slows them alike. Each
line gives the wall time (median, min, max), the CPU time the process used (user + system:
less sensitive to other load than the wall time) and the median's ratio to
`python -c "import click"`, the yardstick of issue 21's goals (``--help`` at most 5x,
``models status`` at most 8x). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The wall time and the CPU time (user + system) of one fresh process, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        prepare(state)
        env = {**os.environ, "CLAWGATE_STATE_DIR": str(state)}
        env.pop("CLAWGATE_VAULT_KEY", None)
        cases = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "clawgate --help": [*EXE, "--help"],
            "clawgate models status": [*EXE, "models", "status"],
            "clawgate models status --json": [*EXE, "models", "status", "--json"],
        }
        for command in cases.values():  # warm the page cache and the bytecode
            run(command, env)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, command in cases.items():
                samples[name].append(run(command, env))
        print(f"{runs} rounds, one fresh process of each case per round")
        click_ms = statistics.median(wall for wall, _ in samples['python -c "import click"']) * 1e3
        for name, taken in samples.items():
            ms = sorted(wall * 1000 for wall, _ in taken)
            cpu = statistics.median(c * 1000 for _, c in taken)
            print(
                f"  {name:30} median {statistics.median(ms):5.0f} ms  "
                f"min {ms[0]:5.0f}  max {ms[-1]:5.0f}  cpu {cpu:5.0f} ms  "
                f"{statistics.median(ms) / click_ms:4.1f}x import click"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    main(parser.parse_args().runs)

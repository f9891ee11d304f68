"""Real processes against one vault: SIGKILL mid-write, concurrent writers, dead lock owners."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clawgate.secret import Secret
from clawgate.vault import LockTimeout, TokenMaterial
from tests.vault.helpers import open_vault
from tests.vault_backends import on_postgres, worker_env

ROOT = Path(__file__).parents[2]


def spawn(state_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.vault.worker", str(state_dir), *args],
        cwd=ROOT,
        env=worker_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_writer_killed_at_random_points_never_tears_an_envelope(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("anthropic:manual", "anthropic", TokenMaterial(Secret("0" * 512)))
    rng = random.Random(20261124)
    last_generation = 1
    for _ in range(60):
        writer = spawn(tmp_path, "write-forever", "anthropic:manual")
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        # Not waiting for time to pass: a random delay picks where in the write loop the
        # kill lands (open, write, fsync, rename, meta).
        time.sleep(rng.uniform(0, 0.03))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        assert writer.stdin is not None
        writer.stdin.close()
        stored = open_vault(tmp_path).load("anthropic:manual")
        assert isinstance(stored.material, TokenMaterial)
        assert len(stored.material.token.reveal()) == 512
        assert stored.generation >= last_generation
        last_generation = stored.generation
    # The next writer takes over cleanly, temp files of the dead ones included.
    final = open_vault(tmp_path).save("anthropic:manual", "anthropic", TokenMaterial(Secret("x")))
    assert final.generation > last_generation
    if not on_postgres():
        assert not list((vault.dir / "profiles").glob(".*.tmp"))


def test_eight_processes_updating_lose_no_update(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    for profile in ("anthropic:a", "anthropic:b"):
        vault.save(profile, "anthropic", TokenMaterial(Secret("0")))
    workers = [
        spawn(tmp_path, "increment", "anthropic:a" if i % 2 else "anthropic:b", "25")
        for i in range(8)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
        assert worker.stdout is not None
        worker.stdout.close()
        assert worker.stdin is not None
        worker.stdin.close()
    for profile in ("anthropic:a", "anthropic:b"):
        stored = open_vault(tmp_path).load(profile)
        assert stored.material == TokenMaterial(Secret("100"))
        assert stored.generation == 101


def test_a_lock_whose_owner_died_is_taken_over(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    holder = spawn(tmp_path, "hold-lock", "openai:default")
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    with (
        pytest.raises(LockTimeout, match="locked by another clawgate process"),
        vault.lock("openai:default", timeout=0.2),
    ):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert holder.stdin is not None
    holder.stdin.close()
    started = time.monotonic()
    with vault.lock("openai:default", timeout=5):
        pass
    assert time.monotonic() - started < 1

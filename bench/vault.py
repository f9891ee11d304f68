"""Vault: the warm in-memory read of every turn, the staleness check, a cold decrypt, a write.

    .venv/bin/python bench/vault.py [--writes 200]

Prints numbers; asserts nothing. Writes fsync three times (envelope, its directory, the
metadata), so their cost is the disk's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from clawgate.secret import Secret
from clawgate.vault import KeyResolver, OAuthMaterial, ProfileCache, Vault

PROFILE = "openai-codex:me@example.com"


def per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Median seconds per call over ``rounds`` rounds of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls)
    return statistics.median(samples)


def main(writes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vault_dir = Path(tmp) / "vault"
        vault = Vault(vault_dir, KeyResolver(vault_dir, {}))
        material = OAuthMaterial(
            access=Secret("eyJ" + "a" * 1500),
            refresh=Secret("rt_" + "r" * 60),
            expires_at=time.time() + 864000,
            account_id="acct",
            email="me@example.com",
        )
        vault.save(PROFILE, "openai-codex", material)
        cache = ProfileCache(vault)
        cache.load(PROFILE)

        warm = per_call(lambda: cache.get(PROFILE), 200_000)
        stale = per_call(lambda: cache.is_stale(PROFILE), 5_000)
        cold = per_call(lambda: vault.load(PROFILE), 2_000)
        write = per_call(lambda: vault.save(PROFILE, "openai-codex", material), writes, rounds=3)

    print(f"warm in-memory read   {warm * 1e9:10.0f} ns   (no disk, no decryption)")
    print(f"staleness check       {stale * 1e6:10.1f} µs   (read generation)")
    print(f"cold load             {cold * 1e6:10.1f} µs   (read + AES-GCM decrypt)")
    print(f"write                 {write * 1e3:10.2f} ms   (lock, encrypt, 3 fsyncs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    main(parser.parse_args().writes)

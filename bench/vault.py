"""Vault: the warm in-memory read of every turn, the staleness check, a cold decrypt, a write,
and taking and releasing a profile's lock (what a refresh adds), on each storage backend.

    .venv/bin/python bench/vault.py [--writes 200] [--backend files|postgres|both]

Prints numbers; asserts nothing. On files, writes fsync three times (envelope, its directory,
the metadata), so their cost is the disk's. PostgreSQL is a throwaway local server on
loopback (tests/postgres.py: Debian's postgresql package, fsync off), so its numbers are the
round trips and the server's work, not a disk's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
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


def seeded(vault: Vault) -> tuple[ProfileCache, OAuthMaterial]:
    """A ChatGPT login of a realistic size stored in ``vault``, loaded into a cache."""
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
    return cache, material


def measure(name: str, vault: Vault, writes: int) -> None:
    cache, material = seeded(vault)

    warm = per_call(lambda: cache.get(PROFILE), 200_000)
    stale = per_call(lambda: cache.is_stale(PROFILE), 5_000)
    cold = per_call(lambda: vault.load(PROFILE), 2_000)
    write = per_call(lambda: vault.save(PROFILE, "openai-codex", material), writes, rounds=3)

    def lock() -> None:
        with vault.lock(PROFILE):
            pass

    locked = per_call(lock, 200, rounds=3)

    print(f"[{name}]")
    print(f"warm in-memory read   {warm * 1e9:10.0f} ns   (no disk, no decryption)")
    print(f"staleness check       {stale * 1e6:10.1f} µs   (read generation: every turn)")
    print(f"cold load             {cold * 1e6:10.1f} µs   (read + AES-GCM decrypt)")
    print(f"write                 {write * 1e3:10.2f} ms   (lock, encrypt, store, ledger)")
    print(f"lock + release        {locked * 1e3:10.2f} ms   (around every refresh)")


def main(writes: int, backend: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vault_dir = Path(tmp) / "vault"
        if backend in ("files", "both"):
            measure("files", Vault(vault_dir, KeyResolver(vault_dir, {})), writes)
        if backend in ("postgres", "both"):
            sys.path.insert(0, str(Path(__file__).parents[1]))  # tests.postgres: the server
            from tests.postgres import running_postgres

            from clawgate.vault._postgres import PostgresStorage

            with running_postgres() as server:
                url = server.database()
                vault = Vault(
                    Path(tmp) / "pg" / "vault",
                    KeyResolver(Path(tmp) / "pg" / "vault", {}),
                    storage=lambda v: PostgresStorage(url, v.key),
                )
                try:
                    measure("postgres (loopback)", vault, writes)
                finally:
                    vault.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--backend", choices=["files", "postgres", "both"], default="both")
    arguments = parser.parse_args()
    main(arguments.writes, arguments.backend)

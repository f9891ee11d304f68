"""A runtime wired to the state directory: state.db, the vault, and a broker with its own
HTTP client for refreshes; closed together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx

from clawgate.auth import Broker
from clawgate.config import Paths, Settings
from clawgate.runtime._turn import Runtime
from clawgate.state import open_state
from clawgate.vault import Vault

__all__ = ["open_runtime"]


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, paths: Paths, env: Mapping[str, str]
) -> AsyncIterator[Runtime]:
    state = open_state(settings, paths, env)
    vault = Vault.open(paths.state_dir, env, backend=settings.state.backend)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            broker = Broker(vault, settings, http=http)
            runtime = Runtime(settings, state=state, vault=vault, broker=broker)
            try:
                yield runtime
            finally:
                await runtime.aclose()
    finally:
        vault.close()
        state.close()

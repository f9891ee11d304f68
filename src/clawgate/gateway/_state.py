"""What the gateway serves from: the config in use (reloaded live when the file changes; an
invalid edit keeps the last good config and is reported), the runtime built on it, and the
process facts ``/control/status`` reports. Logins, keys and order changes are read from the
vault on every turn, so they need no reload."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx

from clawgate import __version__
from clawgate.auth import Broker, view_profiles
from clawgate.channels.telegram import TelegramHost
from clawgate.config import ConfigError, LoadedConfig, Paths, config_digest, load_config
from clawgate.gateway._runtimes import Lease, Runtimes
from clawgate.gateway._workers import Worker
from clawgate.runtime import Runtime
from clawgate.secret import Secret
from clawgate.state import State, StoreUnavailable
from clawgate.vault import Vault

__all__ = ["Gateway"]

log = logging.getLogger("clawgate.gateway")


class Gateway:
    def __init__(
        self,
        paths: Paths,
        env: Mapping[str, str],
        *,
        token: Secret,
        state: State,
        vault: Vault,
        bind: str,
        port: int,
        worker: Worker | None = None,
    ) -> None:
        self.paths = paths
        # One of `gateway.workers` processes, which run channels only in worker 0
        # (`_workers`); None for a gateway that is one process.
        self.worker = worker
        self.channels = worker is None or worker.channels
        self.env = env
        self.token = token
        self.state = state
        self.vault = vault
        self.bind = bind
        self.port = port
        self.started = time.time()
        self.config: LoadedConfig = load_config(paths.config_file, env)
        self.digest = config_digest(paths.config_file)
        self.generation = 1  # of the config in use
        self.reload_error: str | None = None
        self._mtime = self._config_mtime()
        self.http = httpx.AsyncClient(timeout=30)  # the brokers' refreshes
        self.runtimes: Runtimes[Runtime] = Runtimes(self._runtime())
        # The Telegram channel runs in this process, on these runtimes (a turn leases one).
        self.telegram = TelegramHost(
            vault=vault, store=state.telegram, lease=self.lease, refresh=self.refresh
        )
        self._apply_channels()

    @property
    def runtime(self) -> Runtime:
        """The runtime new requests run on."""
        return self.runtimes.current

    def _config_mtime(self) -> int | None:
        try:
            return self.paths.config_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _apply_channels(self) -> None:
        if not self.channels:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # built outside an event loop (a test's app): no channel runs
        self.telegram.apply(self.config.settings.channels.telegram)

    def _runtime(self) -> Runtime:
        settings = self.config.settings
        broker = Broker(self.vault, settings, http=self.http)
        return Runtime(settings, state=self.state, vault=self.vault, broker=broker)

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload the config if the file changed; False (and the error kept) if it is bad."""
        mtime = self._config_mtime()
        if not force and mtime == self._mtime:
            return True
        self._mtime = mtime
        try:
            loaded = load_config(self.paths.config_file, self.env)
        except ConfigError as exc:
            self.reload_error = str(exc)
            log.warning("config not reloaded, keeping generation %d: %s", self.generation, exc)
            return False
        self.config = loaded
        self.digest = config_digest(self.paths.config_file)
        self.generation += 1
        self.reload_error = None
        log.info("config reloaded: generation %d", self.generation)
        await self.runtimes.replace(self._runtime())  # requests in flight finish on the old
        self._apply_channels()
        return True

    def store_status(self) -> dict[str, Any]:
        """The state store's backend, where it is (no password) and whether it answers now."""
        db = self.state.conn
        try:
            db.ping()
        except StoreUnavailable as exc:
            return {
                "backend": db.dialect,
                "where": db.describe(),
                "ok": False,
                "error": exc.message,
            }
        return {"backend": db.dialect, "where": db.describe(), "ok": True, "error": None}

    def reloaded(self) -> None:
        """After a reload asked for (``/control/reload``): the other workers reload too."""
        if self.worker is not None:
            self.worker.reloaded()

    async def lease(self) -> Lease[Runtime]:
        """The runtime for one request, on the newest good config, held until released."""
        await self.refresh()
        return self.runtimes.lease()

    async def aclose(self) -> None:
        await self.telegram.aclose()  # its running turns finish (or are cancelled) first
        await self.runtimes.aclose()
        await self.http.aclose()

    def status(self) -> dict[str, Any]:
        try:
            profiles = view_profiles(self.vault, self.config.settings)
        except StoreUnavailable:  # the vault's envelopes are in the same database
            profiles = []  # "stateStore" below says why
        return {
            "version": __version__,
            # The pid `gateway stop` signals: with workers, their supervisor's.
            "pid": self.worker.supervisor if self.worker else os.getpid(),
            **({"worker": self.worker.facts()} if self.worker else {}),
            "bind": self.bind,
            "port": self.port,
            "uptime": round(time.time() - self.started, 3),
            "config": {
                "path": str(self.paths.config_file),
                "generation": self.generation,
                "digest": self.digest,
                "error": self.reload_error,
            },
            "channels": {"telegram": self.telegram.status()} if self.channels else {},
            "stateStore": self.store_status(),
            "profiles": [
                {
                    "id": p.profile_id,
                    "provider": p.provider,
                    "kind": p.kind,
                    "billing": p.billing,
                    "state": p.state,
                    "expiresAt": p.expires_at,
                    "detail": p.detail,
                    "fix": p.fix,
                }
                for p in profiles
            ],
        }

"""Device-code logins started from the dashboard (RFC 8628), for a gateway on a machine with
no browser: the gateway runs the very login `clawgate models auth login --device-code` runs
(`auth.login`, storing through the vault the same way), as a background task, and the page
shows the code, the address to enter it at and a countdown, and polls for the outcome.

The person's side of the login (`auth.oauth.LoginUI`) is a record the page reads instead of
a terminal. The device code itself stays in the flow; only the user code, which the person
must see, is kept here. Each login's state is also published in the vault (the secret
``dashboard-logins``, the newest `MAX_KEPT`), so its page may poll any worker of the gateway
(`gateway.workers`), not only the one running it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from clawgate import auth
from clawgate.auth.oauth import LoginTools, Sleep
from clawgate.catalog import facts
from clawgate.clock import Clock, SystemClock
from clawgate.config import ProviderSettings, Settings
from clawgate.errors import ClawgateError
from clawgate.gateway._state import Gateway
from clawgate.secret import Secret

__all__ = ["DeviceLogin", "DeviceLogins", "offers_device_login"]

log = logging.getLogger("clawgate.gateway")

MAX_KEPT = 16  # logins kept for their pages; the oldest go first
RECORDS = "dashboard-logins"  # the vault secret the logins' states are published in
_LOCK_TIMEOUT = 10.0  # seconds another worker publishing a login may hold the records
_ID = 24  # hex digits of a login's id: 96 random bits
CODE_WAIT = 30.0  # seconds a start waits for the code before showing the page without it


def offers_device_login(provider: str, settings: Settings) -> bool:
    """Whether the provider's login has the device-code method (its facts, `catalog`)."""
    provider_settings: ProviderSettings | None = settings.models.providers.get(provider)
    return "device-code" in facts(provider, provider_settings).logins


@dataclass
class DeviceLogin:
    id: str
    provider: str
    profile: str | None
    started_at: float = 0.0
    state: str = "starting"  # starting | waiting | done | failed
    user_code: str | None = None
    verification_uri: str | None = None
    expires_at: float | None = None
    message: str | None = None
    fix: str | None = None
    shown: asyncio.Event = field(default_factory=asyncio.Event, repr=False)  # a code, or the end
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def record(self) -> dict[str, Any]:
        """What is published for the other workers (the events are this process's)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DeviceLogin:
        return cls(**record)

    def view(self, now: float) -> dict[str, Any]:
        left = None if self.expires_at is None else max(int(self.expires_at - now), 0)
        return {
            "id": self.id,
            "provider": self.provider,
            "profile": self.profile,
            "state": self.state,
            "userCode": self.user_code,
            "verificationUri": self.verification_uri,
            "secondsLeft": left,
            "message": self.message,
            "fix": self.fix,
        }


class _PageUI:
    """`LoginUI` for a page: what a terminal would print is kept for the page to show."""

    def __init__(self, login: DeviceLogin, clock: Clock, publish: Callable[[], None]) -> None:
        self.login = login
        self.clock = clock
        self.publish = publish

    def open_url(self, url: str) -> None:  # browser logins are not started from the page
        self.login.verification_uri = url

    async def paste(self) -> str | None:
        return None

    async def secret(self, prompt: str) -> str | None:
        return None

    def show_code(self, user_code: str, verification_uri: str, expires_in: float) -> None:
        self.login.user_code = user_code
        self.login.verification_uri = verification_uri
        self.login.expires_at = self.clock.now() + expires_in
        self.login.state = "waiting"
        self.publish()
        self.login.shown.set()

    def say(self, message: str) -> None:
        self.login.message = message


class DeviceLogins:
    def __init__(self, clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self.clock = clock or SystemClock()
        self.sleep = sleep or asyncio.sleep
        self._logins: dict[str, DeviceLogin] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, gateway: Gateway, login_id: str) -> DeviceLogin | None:
        """The login: this worker's own, else as the worker running it published it."""
        found = self._logins.get(login_id)
        if found is not None:
            return found
        if not (len(login_id) == _ID and all(c in "0123456789abcdef" for c in login_id)):
            return None
        record = self._records(gateway).get(login_id)
        return None if record is None else DeviceLogin.from_record(record)

    async def start(self, gateway: Gateway, provider: str, profile: str | None) -> DeviceLogin:
        """Start the login; return once its code is known (or it ended, or `CODE_WAIT`)."""
        login_id = secrets.token_hex(_ID // 2)
        login = DeviceLogin(login_id, provider, profile, started_at=self.clock.now())
        while len(self._logins) >= MAX_KEPT:
            del self._logins[next(iter(self._logins))]
        self._logins[login.id] = login
        self._publish(gateway, login)
        task = asyncio.create_task(self._run(gateway, login))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        with contextlib.suppress(TimeoutError):  # without it yet, the page polls for it
            await asyncio.wait_for(login.shown.wait(), CODE_WAIT)
        return login

    def _records(self, gateway: Gateway) -> dict[str, dict[str, Any]]:
        stored = gateway.vault.secret(RECORDS)
        if stored is None:
            return {}
        records: dict[str, dict[str, Any]] = json.loads(stored.reveal())
        return records

    def _publish(self, gateway: Gateway, login: DeviceLogin) -> None:
        """Write the login's state where every worker reads it, under the records' lock."""
        try:
            busy = RuntimeError("the dashboard's login records are locked")
            with gateway.vault.named_lock(f"{RECORDS}.edit", lambda: busy, _LOCK_TIMEOUT):
                records = self._records(gateway)
                records[login.id] = login.record()
                newest = sorted(records.values(), key=lambda r: r["started_at"])[-MAX_KEPT:]
                document = json.dumps({r["id"]: r for r in newest})
                gateway.vault.save_secret(RECORDS, Secret(document))
        except Exception:  # the page on this worker still sees it; never fail the login
            log.exception("could not publish the state of dashboard login %s", login.id)

    async def _run(self, gateway: Gateway, login: DeviceLogin) -> None:
        ui = _PageUI(login, self.clock, lambda: self._publish(gateway, login))
        tools = LoginTools(http=gateway.http, clock=self.clock, sleep=self.sleep, ui=ui)
        try:
            await gateway.refresh()
            stored = await auth.login(
                tools,
                gateway.vault,
                gateway.config.settings,
                gateway.paths.config_file,
                gateway.env,
                login.provider,
                device_code=True,
                profile_id=login.profile,
            )
        except ClawgateError as exc:
            login.state, login.message, login.fix = "failed", exc.message, exc.fix
            log.warning("dashboard login for %s failed: %s", login.provider, exc.message)
        except Exception:  # the page must end either way; the log has the rest
            login.state, login.message = "failed", "the login failed (see the gateway's log)"
            log.exception("dashboard login for %s failed", login.provider)
        else:
            login.state, login.profile = "done", stored.profile_id
            login.message = f"logged in: profile {stored.profile_id} is stored"
            log.info("dashboard login stored profile %s", stored.profile_id)
        finally:
            self._publish(gateway, login)
            login.shown.set()
            login.finished.set()

    async def aclose(self) -> None:
        """Cancel the logins still waiting (the gateway is stopping)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

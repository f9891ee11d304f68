"""The real authorization server (tests/servers/oidc-test-server.mjs, npm oidc-provider) on
loopback, started per test module or per test, stopped by its own PID."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.processes import stop

SERVERS = Path(__file__).parent / "servers"
CLIENT_ID = "gateway-cli"


@dataclass
class OidcServer:
    issuer: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, dict[str, int]]:
        grants: dict[str, dict[str, int]] = httpx.get(f"{self.issuer}/__test/stats").json()[
            "grants"
        ]
        return grants

    def refreshes(self) -> dict[str, int]:
        return self.stats().get("refresh_token", {"success": 0, "error": 0})

    def token_delay(self, ms: int) -> None:
        httpx.post(f"{self.issuer}/__test/token-delay", params={"ms": ms}).raise_for_status()

    def provider_settings(self, **oauth: object) -> dict[str, object]:
        """A ``models.providers`` entry for the generic OIDC login against this server."""
        return {
            "api": "openai-completions",
            "baseUrl": f"{self.issuer}/v1",
            "auth": "oauth",
            "oauth": {"issuer": self.issuer, "clientId": CLIENT_ID, **oauth},
        }

    def approve_device(self, user_code: str, *, deny: bool = False) -> None:
        """Play the person: enter the code on the device page, sign in, confirm."""
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            page = browser.get(f"{self.issuer}/device").text
            page = browser.post(
                f"{self.issuer}/device", data={"xsrf": _xsrf(page), "user_code": user_code}
            ).text
            answer = {"abort": "yes"} if deny else {"confirm": "yes"}
            done = browser.post(
                f"{self.issuer}/device",
                data={"xsrf": _xsrf(page), "user_code": user_code, **answer},
            )
            done.raise_for_status()


def _xsrf(page: str) -> str:
    found = re.search(r'name="xsrf" value="([^"]+)"', page)
    assert found is not None, "the device page has no xsrf field"
    return found.group(1)


@contextlib.contextmanager
def oidc_server(**env: str) -> Iterator[OidcServer]:
    process, issuer = _start(env)
    try:
        yield OidcServer(issuer, process)
    finally:
        stop(process)


# Seen once in a full CI run: a node process that sleeps on a futex from its first
# millisecond and never listens. Such a start is stopped and made again, once; it is not
# what any test is about, and without a bound the whole run would hang on it.
READY_WITHIN = 30.0


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    for _attempt in (1, 2):
        process = subprocess.Popen(
            ["node", str(SERVERS / "oidc-test-server.mjs")],
            env={**os.environ, "PORT": "0", "HOST": "127.0.0.1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        with selectors.DefaultSelector() as waiting:
            waiting.register(process.stdout, selectors.EVENT_READ)
            said = waiting.select(timeout=READY_WITHIN)
        line = process.stdout.readline().decode() if said else ""
        if line.startswith("READY "):
            return process, json.loads(line[len("READY ") :])["issuer"]
        stop(process)
        if said:  # it answered, with something else: starting again will not help
            break
    raise RuntimeError("the OIDC test server did not start: run `npm ci --prefix tests/servers`")

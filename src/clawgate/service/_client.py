"""The CLI's side of the control API: find the running gateway and ask it things."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clawgate.config import Paths
from clawgate.service._runtime_file import read_runtime_file
from clawgate.service._token import gateway_token
from clawgate.vault import Vault

if TYPE_CHECKING:  # imported when a request is made: `models status` with no gateway needs none
    import httpx

__all__ = ["GatewayClient", "running_gateway"]


@dataclass(frozen=True)
class GatewayClient:
    base_url: str
    token: str
    pid: int

    def _call(
        self, method: str, path: str, body: object = None, timeout: float = 10
    ) -> httpx.Response:
        import httpx

        return httpx.request(
            method,
            self.base_url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            json=body,
            timeout=timeout,
        )

    def status(self) -> dict[str, Any]:
        response = self._call("GET", "/control/status")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def probe(self, asked: dict[str, Any], *, timeout: float) -> list[dict[str, Any]]:
        """`models status --probe`, run inside the gateway (ARCHITECTURE.md)."""
        response = self._call("POST", "/control/probe", asked, timeout=timeout)
        response.raise_for_status()
        probes: list[dict[str, Any]] = response.json()["probes"]
        return probes

    def reset_health(self, profile: str | None, model: str | None) -> list[dict[str, Any]]:
        """`models health reset`, run inside the gateway: the marks it cleared."""
        import httpx

        asked = {k: v for k, v in (("profile", profile), ("model", model)) if v is not None}
        response = httpx.post(
            self.base_url + "/control/health/reset",
            params=asked,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        response.raise_for_status()
        cleared: list[dict[str, Any]] = response.json()["cleared"]
        return cleared

    def reload(self) -> dict[str, Any]:
        body: dict[str, Any] = self._call("POST", "/control/reload").json()
        return body


def running_gateway(paths: Paths, env: Mapping[str, str], vault: Vault) -> GatewayClient | None:
    facts = read_runtime_file(paths)
    if facts is None:
        return None
    host = facts["bind"]
    if host in ("0.0.0.0", "::"):  # noqa: S104 (reading where it listens, not binding)
        host = "127.0.0.1"
    token = gateway_token(vault, env).reveal()
    return GatewayClient(f"http://{host}:{facts['port']}", token, facts["pid"])

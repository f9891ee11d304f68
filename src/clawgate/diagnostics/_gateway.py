"""Whether a gateway runs for this state directory, and whether it serves the config on disk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clawgate.config import Paths, config_digest
from clawgate.service import GatewayClient, running_gateway
from clawgate.vault import Vault, VaultError

__all__ = ["gateway_facts"]


def gateway_facts(
    paths: Paths, env: Mapping[str, str], vault: Vault
) -> tuple[dict[str, Any], GatewayClient | None]:
    """The gateway's facts for status and doctor, and a client when it answers."""
    try:
        client = running_gateway(paths, env, vault)
    except VaultError as exc:  # its token cannot be read: it cannot be asked either
        return {"running": None, "error": exc.message}, None
    if client is None:
        return {"running": False}, None
    import httpx  # only to ask a gateway that runs

    facts: dict[str, Any] = {"running": True, "pid": client.pid, "url": client.base_url}
    try:
        status = client.status()
    except (httpx.HTTPError, ValueError) as exc:
        facts.update(answering=False, error=f"it does not answer: {exc.__class__.__name__}")
        return facts, None
    config = status.get("config") or {}
    current = config_digest(paths.config_file)
    facts.update(
        answering=True,
        configGeneration=config.get("generation"),
        configCurrent=config.get("digest") == current and not config.get("error"),
        configError=config.get("error"),
    )
    telegram = (status.get("channels") or {}).get("telegram")
    if telegram and telegram.get("enabled"):
        facts["telegram"] = telegram  # connected, conflict, unauthorized, … with its fix
    return facts, client

"""The gateway seen from outside it: where a running one is and how to ask it (the control
client), its bearer token, and running it as a service (a systemd user unit, or a background
process). The CLI, status and doctor use this; none of it is the server (`clawgate.gateway`).

Each name is imported from its module when first asked for (PEP 562): `models status` asks
whether a gateway runs without loading the logging setup, the unit files or the client keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawgate.lazy import lazy_exports

if TYPE_CHECKING:
    from clawgate.service._client import GatewayClient, running_gateway
    from clawgate.service._client_keys import (
        KEY_PREFIX,
        ClientKey,
        ClientKeyError,
        ClientKeyStore,
        check_key_name,
    )
    from clawgate.service._logs import (
        LOG_FILE,
        REQUEST_ID,
        TURN_ID,
        close_logging,
        configure_logging,
    )
    from clawgate.service._runtime_file import (
        AlreadyRunning,
        GatewayError,
        read_runtime_file,
        runtime_file,
    )
    from clawgate.service._token import TOKEN_ENV, TOKEN_SECRET, gateway_token, matches
    from clawgate.service._unit import (
        EX_CONFIG,
        UNIT_NAME,
        install_unit,
        start_background,
        start_unit,
        uninstall_unit,
        unit_path,
        unit_text,
    )
    from clawgate.service._unit import stop as stop_gateway

_WHERE = {
    "GatewayClient": "_client",
    "running_gateway": "_client",
    "KEY_PREFIX": "_client_keys",
    "ClientKey": "_client_keys",
    "ClientKeyError": "_client_keys",
    "ClientKeyStore": "_client_keys",
    "check_key_name": "_client_keys",
    "LOG_FILE": "_logs",
    "REQUEST_ID": "_logs",
    "TURN_ID": "_logs",
    "close_logging": "_logs",
    "configure_logging": "_logs",
    "AlreadyRunning": "_runtime_file",
    "GatewayError": "_runtime_file",
    "read_runtime_file": "_runtime_file",
    "runtime_file": "_runtime_file",
    "TOKEN_ENV": "_token",
    "TOKEN_SECRET": "_token",
    "gateway_token": "_token",
    "matches": "_token",
    "EX_CONFIG": "_unit",
    "UNIT_NAME": "_unit",
    "install_unit": "_unit",
    "start_background": "_unit",
    "start_unit": "_unit",
    "uninstall_unit": "_unit",
    "unit_path": "_unit",
    "unit_text": "_unit",
    "stop_gateway": "_unit",
}
_RENAMED = {"stop_gateway": "stop"}

__all__ = [
    "EX_CONFIG",
    "KEY_PREFIX",
    "LOG_FILE",
    "REQUEST_ID",
    "TOKEN_ENV",
    "TOKEN_SECRET",
    "TURN_ID",
    "UNIT_NAME",
    "AlreadyRunning",
    "ClientKey",
    "ClientKeyError",
    "ClientKeyStore",
    "GatewayClient",
    "GatewayError",
    "check_key_name",
    "close_logging",
    "configure_logging",
    "gateway_token",
    "install_unit",
    "matches",
    "read_runtime_file",
    "running_gateway",
    "runtime_file",
    "start_background",
    "start_unit",
    "stop_gateway",
    "uninstall_unit",
    "unit_path",
    "unit_text",
]


__getattr__ = lazy_exports(__name__, _WHERE, _RENAMED)

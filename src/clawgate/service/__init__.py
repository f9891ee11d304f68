"""The gateway seen from outside it: where a running one is and how to ask it (the control
client), its bearer token, and running it as a service (a systemd user unit, or a background
process). The CLI, status and doctor use this; none of it is the server (`clawgate.gateway`)."""

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

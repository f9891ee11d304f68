"""The gateway: the long-running process API clients and channels talk to (ARCHITECTURE.md)."""

from clawgate.gateway._app import create_app
from clawgate.gateway._client import GatewayClient, running_gateway
from clawgate.gateway._http import MAX_BODY
from clawgate.gateway._runtimes import Lease, Runtimes
from clawgate.gateway._serve import (
    AlreadyRunning,
    GatewayError,
    read_runtime_file,
    runtime_file,
    serve,
)
from clawgate.gateway._service import (
    EX_CONFIG,
    UNIT_NAME,
    install_unit,
    start_background,
    start_unit,
    uninstall_unit,
    unit_path,
    unit_text,
)
from clawgate.gateway._service import stop as stop_gateway
from clawgate.gateway._state import Gateway
from clawgate.gateway._token import TOKEN_ENV, TOKEN_SECRET, gateway_token, matches

__all__ = [
    "EX_CONFIG",
    "MAX_BODY",
    "TOKEN_ENV",
    "TOKEN_SECRET",
    "UNIT_NAME",
    "AlreadyRunning",
    "Gateway",
    "GatewayClient",
    "GatewayError",
    "Lease",
    "Runtimes",
    "create_app",
    "gateway_token",
    "install_unit",
    "matches",
    "read_runtime_file",
    "running_gateway",
    "runtime_file",
    "serve",
    "start_background",
    "start_unit",
    "stop_gateway",
    "uninstall_unit",
    "unit_path",
    "unit_text",
]

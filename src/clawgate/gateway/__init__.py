"""The gateway: the long-running process API clients and channels talk to (docs/architecture.md).
How to find, ask, install or stop a running one is `clawgate.service`."""

from clawgate.gateway._app import create_app
from clawgate.gateway._http import MAX_BODY
from clawgate.gateway._runtimes import Lease, Runtimes
from clawgate.gateway._serve import serve
from clawgate.gateway._state import Gateway

__all__ = ["MAX_BODY", "Gateway", "Lease", "Runtimes", "create_app", "serve"]

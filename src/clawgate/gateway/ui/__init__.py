"""The dashboard at ``/ui`` (README, "Dashboard"): server-rendered pages over what the
gateway already knows, signed in with the gateway's token into a cookie session, with
device-code logins for a headless machine (docs/security.md, "The dashboard")."""

from clawgate.gateway.ui._logins import DeviceLogin, DeviceLogins
from clawgate.gateway.ui._pages import ROUTES, Dashboard
from clawgate.gateway.ui._sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_SECONDS

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROUTES",
    "SESSION_SECONDS",
    "Dashboard",
    "DeviceLogin",
    "DeviceLogins",
]

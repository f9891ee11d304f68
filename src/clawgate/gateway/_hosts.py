"""Who may reach the gateway from a browser, checked before anything else answers.

- ``Host``: a web page can re-point a name it controls at 127.0.0.1 (DNS rebinding) and then
  call the gateway as same-origin. Its requests carry that name as their ``Host``, so only
  the bind address, ``localhost``, the loopback addresses, the address the connection came in
  on (an IP literal: no name was resolved), the Telegram webhook's host and
  ``gateway.allowedHosts`` are served; any other name is a 421 (RFC 9110 §15.5.20,
  Misdirected Request). A request without ``Host`` (HTTP/1.0) comes from no browser.
- ``Origin``: a browser sends it on cross-origin requests and on same-origin POSTs
  (https://fetch.spec.whatwg.org/#origin-header). Same-origin ones pass; a cross-origin one
  is answered only when ``gateway.cors`` lists its origin (Starlette's CORSMiddleware adds the
  headers and answers the preflight), else refused 403 *before* it runs: CORS alone only
  hides the answer from the page, the request would still have been served.

Both lists are read from the config in use per request, so an edit takes effect live.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from clawgate.config import Settings
from clawgate.gateway._surface import surface_error

__all__ = ["HostGuard", "host_name"]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_SHOWN = 100  # characters of a Host or Origin an error repeats


class HostGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._cors: dict[tuple[str, ...], ASGIApp] = {}  # per configured list of origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gateway = scope["app"].state.gateway
        settings: Settings = gateway.config.settings
        headers = Headers(scope=scope)
        path: str = scope["path"]
        host = headers.get("host")
        if host is not None and host_name(host) not in _allowed(scope, gateway.bind, settings):
            message = (
                f"this gateway does not serve the host {host[:_SHOWN]!r}; call it as "
                "127.0.0.1 or localhost, or add the name to gateway.allowedHosts"
            )
            await surface_error(path, 421, message, code="host_not_allowed")(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is None or _same_origin(origin, host):
            await self.app(scope, receive, send)
            return
        origins = tuple(settings.gateway.cors)
        if origin.lower() not in {o.lower() for o in origins}:
            message = (
                f"cross-origin requests from {origin[:_SHOWN]!r} are not allowed; "
                "add the origin to gateway.cors to allow them"
            )
            await surface_error(path, 403, message, code="origin_not_allowed")(scope, receive, send)
            return
        await self._cors_app(origins)(scope, receive, send)

    def _cors_app(self, origins: tuple[str, ...]) -> ASGIApp:
        app = self._cors.get(origins)
        if app is None:
            app = CORSMiddleware(
                self.app,
                allow_origins=list(origins),
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["x-clawgate-turn", "x-clawgate-model", "x-clawgate-profile"],
            )
            self._cors = {origins: app}  # the config changed: the old list is gone
        return app


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:80`` is ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def _allowed(scope: Scope, bind: str, settings: Settings) -> set[str]:
    names = {
        *_LOOPBACK,
        bind.lower(),
        *(h.lower().rstrip(".") for h in settings.gateway.allowed_hosts),
    }
    server = scope.get("server")
    if server and _is_ip(str(server[0])):
        names.add(str(server[0]).lower())
    webhook = settings.channels.telegram.webhook
    if webhook is not None and (hostname := urlsplit(webhook.url).hostname):
        names.add(hostname)  # Telegram calls the public name a proxy or tunnel forwards
    return names


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` (scheme://host[:port]) names the host the request was sent to."""
    _, sep, netloc = origin.partition("://")
    return bool(sep) and host is not None and netloc.lower() == host.strip().lower()

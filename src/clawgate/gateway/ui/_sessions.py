"""Who is signed in to the dashboard, and whether a form post really came from it.

Signing in with the gateway's token (the admin key; never a client key) gives a session: an
expiry and a random nonce, signed, in an ``HttpOnly``, ``SameSite=Strict`` cookie scoped to
``Path=/ui`` (RFC 6265 §4.1.2; SameSite: RFC 6265bis §5.4.7). The signing key is an HMAC of
the gateway's token and a salt kept in the vault (``dashboard-sessions``), so every worker of
one gateway (`gateway.workers`) knows every session without sharing memory, a new token ends
them all, and nothing about a session is stored. Signing out draws a new salt: it ends every
dashboard session, everywhere (they all stand for the one admin token).

Every state-changing request is checked twice against cross-site request forgery (OWASP
CSRF Prevention Cheat Sheet): the session's own token (an HMAC of its nonce), sent back in a
form field or the ``x-csrf-token`` header and compared in constant time, and where the
browser says the request came from: ``Origin`` must be this gateway (RFC 6454 §7), or,
without one, ``Sec-Fetch-Site`` must be ``same-origin`` (https://www.w3.org/TR/fetch-metadata/).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from clawgate.clock import Clock, SystemClock
from clawgate.gateway._state import Gateway
from clawgate.secret import Secret

__all__ = ["COOKIE", "CSRF_FIELD", "CSRF_HEADER", "SALT", "SESSION_SECONDS", "Session", "Sessions"]

COOKIE = "clawgate_ui"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SALT = "dashboard-sessions"  # the vault secret the signing key is made with
SESSION_SECONDS = 8 * 3600  # a sign-in lasts a working day, then the token is asked again
PATH = "/ui"


@dataclass(frozen=True)
class Session:
    id: str  # the cookie's value: expiry.nonce.signature
    csrf: str
    expires_at: float

    def __repr__(self) -> str:  # both fields are secrets
        return f"Session(expires_at={self.expires_at})"


class Sessions:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    def open(self, gateway: Gateway) -> Session:
        key = _key(gateway)
        expires = int(self.clock.now()) + SESSION_SECONDS
        signed = f"{expires}.{secrets.token_urlsafe(24)}"
        return _session(key, f"{signed}.{_mac(key, signed)}", signed, expires)

    def of(self, request: Request) -> Session | None:
        """The request's session, when its cookie holds one this gateway signed and it has
        not expired."""
        value = request.cookies.get(COOKIE, "")
        expires, _, rest = value.partition(".")
        nonce, _, mac = rest.partition(".")
        if not (expires.isascii() and expires.isdigit() and len(expires) < 16 and nonce and mac):
            return None
        gateway: Gateway = request.app.state.gateway
        if not gateway.token.reveal():
            return None
        key = _key(gateway)
        signed = f"{expires}.{nonce}"
        if not hmac.compare_digest(mac.encode(), _mac(key, signed).encode()):
            return None
        if self.clock.now() >= int(expires):
            return None
        return _session(key, value, signed, int(expires))

    def close_all(self, gateway: Gateway) -> None:
        """Sign out: a new salt, so no cookie signed before verifies."""
        gateway.vault.save_secret(SALT, _new_salt())

    def set_cookie(self, response: Response, request: Request, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=max(int(session.expires_at - self.clock.now()), 0),
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",  # plain HTTP on loopback has no TLS to ask for
        )

    @staticmethod
    def clear_cookie(response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")


def _new_salt() -> Secret:
    return Secret(secrets.token_hex(32))


def _key(gateway: Gateway) -> bytes:
    salt = gateway.vault.ensure_secret(SALT, _new_salt)
    token = gateway.token.reveal().encode()
    return hmac.new(token, salt.reveal().encode(), hashlib.sha256).digest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _session(key: bytes, value: str, signed: str, expires: int) -> Session:
    return Session(value, _mac(key, f"csrf.{signed}"), float(expires))


def csrf_ok(session: Session, given: str | None) -> bool:
    """The session's CSRF token, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), session.csrf.encode())


def same_origin(request: Request) -> bool:
    """Whether the browser says the request came from a page of this gateway. A request with
    neither header comes from no browser (curl, a script): it cannot carry a victim's cookie
    by accident, and the CSRF token still has to be right."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if origin is not None:
        _, sep, netloc = origin.partition("://")
        return bool(sep) and host is not None and netloc.lower() == host.strip().lower()
    site = request.headers.get("sec-fetch-site")
    return site is None or site == "same-origin"

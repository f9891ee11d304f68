"""The dashboard's routes under ``/ui``: server-rendered pages (Jinja2, autoescaped), a few
forms, and one small JSON status a device login's page polls.

`_guard.TokenGuard` lets ``/ui`` through without a bearer token; every page here asks for a
signed-in session (`_sessions`) instead, and every POST but the sign-in itself for the
session's CSRF token and a same-origin browser. The Host and Origin checks of `_hosts` run
before any of it, as for every route. Pages are never cached and may not be framed."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Route

from clawgate.clock import Clock
from clawgate.gateway._body import read_body
from clawgate.gateway._guard import client_keys
from clawgate.gateway._openai import RequestError
from clawgate.gateway._state import Gateway
from clawgate.gateway._surface import surface_error
from clawgate.gateway.ui import _views as views
from clawgate.gateway.ui._logins import DeviceLogins, offers_device_login
from clawgate.gateway.ui._sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    Sessions,
    csrf_ok,
    same_origin,
)
from clawgate.secret import Secret
from clawgate.service import ClientKeyError, matches
from clawgate.state import GROUPINGS, Grouping, parse_since

__all__ = ["ROUTES", "Dashboard", "dashboard"]

log = logging.getLogger("clawgate.gateway")

HERE = Path(__file__).parent
FORM_LIMIT = 16 * 1024  # bytes of a form: a name, a few limits, a token
MAX_FIELDS = 32
_HEADERS = {
    "cache-control": "no-store",  # a page may show a key once; no copy of it is kept
    # Only our own files, no inline script, no framing (clickjacking), forms post here only.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # Not no-referrer: under it a browser sends ``Origin: null`` with a form's POST
    # (https://fetch.spec.whatwg.org/#serializing-a-request-origin), which the Origin check
    # has to refuse.
    "referrer-policy": "same-origin",
}

Handler = Callable[[Request], Awaitable[Response]]
SessionHandler = Callable[[Request, Session], Awaitable[Response]]


class Dashboard:
    """The dashboard's memory in this process: sessions, logins and the templates."""

    def __init__(self, clock: Clock | None = None, logins: DeviceLogins | None = None) -> None:
        self.sessions = Sessions(clock)
        self.logins = logins or DeviceLogins(clock)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every value is text, never markup
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["when"] = _when

    def render(
        self,
        request: Request,
        name: str,
        session: Session | None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        page = self.templates.get_template(name).render(
            csrf=session.csrf if session else "", page=name.removesuffix(".html"), **context
        )
        return HTMLResponse(page, status, headers=_HEADERS)


def dashboard(request: Request) -> Dashboard:
    """The app's dashboard, made on first use (a test may set its own, on its clock)."""
    state = request.app.state
    found: Dashboard | None = getattr(state, "dashboard", None)
    if found is None:
        found = state.dashboard = Dashboard()
    return found


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def page(handler: SessionHandler) -> Handler:
    """A page for a signed-in session; anyone else is sent to sign in."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        session = dashboard(request).sessions.of(request)
        if session is None:
            return RedirectResponse("/ui/login", 303, headers=_HEADERS)
        return await handler(request, session)

    return guarded


def action(handler: Callable[[Request, Session, dict[str, str]], Awaitable[Response]]) -> Handler:
    """A state-changing POST: a session, its CSRF token, and a same-origin browser (or none),
    else a 403 that changes nothing."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        board = dashboard(request)
        session = board.sessions.of(request)
        if not same_origin(request):
            return _refused(board, request, "this request came from another site")
        if session is None:
            return _refused(board, request, "not signed in (or the session expired)")
        try:
            form = await _form(request)
        except RequestError as exc:
            return _refused(board, request, exc.message, status=400)
        if not csrf_ok(session, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
            return _refused(board, request, "the form's CSRF token is missing or wrong")
        return await handler(request, session, form)

    return guarded


def _refused(board: Dashboard, request: Request, why: str, status: int = 403) -> Response:
    message = f"refused: {why}; nothing was changed. Reload the dashboard and try again."
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": message}, status, headers=_HEADERS)
    return board.render(request, "refused.html", None, status, message=message)


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, each field's first value."""
    raw = await read_body(request, FORM_LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("the form is not UTF-8") from None
    try:
        fields = parse_qs(text, max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than any form here has
        raise RequestError(f"the form has more than {MAX_FIELDS} fields") from None
    return {k: v[0] for k, v in fields.items()}


# Sign-in --------------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    board = dashboard(request)
    if board.sessions.of(request) is not None:
        return RedirectResponse("/ui", 303, headers=_HEADERS)
    return board.render(request, "login.html", None, error=None)


async def login(request: Request) -> Response:
    """The gateway's token (the admin key) opens a session; a client key does not."""
    board = dashboard(request)
    if not same_origin(request):  # login CSRF: no other site may sign a browser in
        return _refused(board, request, "this request came from another site")
    try:
        form = await _form(request)
    except RequestError as exc:
        return _refused(board, request, exc.message, status=400)
    token: Secret = _gateway(request).token
    given = form.get("token", "").strip()
    if not token.reveal() or not matches(f"Bearer {given}", token):
        error = "wrong token: sign in with the gateway's token (see: clawgate gateway token)"
        log.warning("dashboard sign-in refused: wrong token")
        return board.render(request, "login.html", None, 401, error=error)
    session = board.sessions.open(_gateway(request))
    log.info("dashboard signed in")
    response = RedirectResponse("/ui", 303, headers=_HEADERS)
    board.sessions.set_cookie(response, request, session)
    return response


@action
async def logout(request: Request, session: Session, form: dict[str, str]) -> Response:
    board = dashboard(request)
    board.sessions.close_all(_gateway(request))
    log.info("dashboard signed out: every dashboard session ended")
    response = RedirectResponse("/ui/login", 303, headers=_HEADERS)
    board.sessions.clear_cookie(response)
    return response


# Pages ----------------------------------------------------------------------------------------


@page
async def overview(request: Request, session: Session) -> Response:
    gateway = _gateway(request)
    await gateway.refresh()
    return dashboard(request).render(
        request,
        "overview.html",
        session,
        facts=views.status(gateway),
        chain=views.chain(gateway),
        windows=views.windows(gateway),
    )


@page
async def turns(request: Request, session: Session) -> Response:
    return dashboard(request).render(
        request, "turns.html", session, turns=views.turns(_gateway(request))
    )


@page
async def usage(request: Request, session: Session) -> Response:
    gateway = _gateway(request)
    since = request.query_params.get("since", "7d")[:20]
    by_raw = request.query_params.get("by", "key")
    by: Grouping = by_raw if by_raw in GROUPINGS else "key"
    try:
        report, error = views.usage(gateway, since, by), None
    except ValueError as exc:
        report, error = None, str(exc)
    return dashboard(request).render(
        request,
        "usage.html",
        session,
        since=since,
        by=by,
        groupings=GROUPINGS,
        report=report,
        error=error,
        windows=views.windows(gateway),
    )


async def _keys_page(
    request: Request,
    session: Session,
    *,
    created: tuple[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    keys = views.keys(client_keys(request.app).store.all())
    return dashboard(request).render(
        request, "keys.html", session, status, keys=keys, created=created, error=error
    )


@page
async def keys(request: Request, session: Session) -> Response:
    return await _keys_page(request, session)


@action
async def create_key(request: Request, session: Session, form: dict[str, str]) -> Response:
    """`clawgate gateway keys create`; the key is in this one answer and kept nowhere."""
    store = client_keys(request.app).store
    try:
        limits = _limits(form, store.clock.now())
        record, value = store.create(form.get("name", "").strip(), **limits)
    except (ClientKeyError, ValueError) as exc:
        error = exc.message if isinstance(exc, ClientKeyError) else str(exc)
        if isinstance(exc, ClientKeyError) and exc.fix:
            error += f" (fix: {exc.fix})"
        return await _keys_page(request, session, error=error, status=400)
    log.info("dashboard made client key %s", record.name)
    return await _keys_page(request, session, created=(record.name, value.reveal()))


def _limits(form: dict[str, str], now: float) -> dict[str, Any]:
    """The form's limits, as `gateway keys create` takes them; ValueError naming a bad one."""
    models = tuple(m for m in form.get("models", "").replace(",", " ").split() if m)
    limits: dict[str, Any] = {"models": models}
    for field, name in (("rpm", "rpm"), ("tokens_per_day", "tokens a day")):
        text = form.get(field, "").strip()
        if text:
            if not (text.isascii() and text.isdigit() and 0 < int(text) < 10**12):
                raise ValueError(f"{name} is {text[:20]!r}: give a whole number above 0")
            limits[field] = int(text)
    expires = form.get("expires", "").strip()
    if expires:
        limits["expires_in"] = now - parse_since(expires, now)
        if limits["expires_in"] <= 0:
            raise ValueError("expires is 0: give a span like 90d, 2w or 12h")
    return limits


@action
async def revoke_key(request: Request, session: Session, form: dict[str, str]) -> Response:
    name = form.get("name", "")
    try:
        client_keys(request.app).store.revoke(name)
    except ClientKeyError as exc:
        return await _keys_page(request, session, error=exc.message, status=404)
    log.info("dashboard revoked client key %s", name)
    return RedirectResponse("/ui/keys", 303, headers=_HEADERS)


# Device logins --------------------------------------------------------------------------------


@action
async def start_login(request: Request, session: Session, form: dict[str, str]) -> Response:
    gateway = _gateway(request)
    await gateway.refresh()
    provider, profile = form.get("provider", ""), form.get("profile") or None
    settings = gateway.config.settings
    if not offers_device_login(provider, settings):  # built-in, or an issuer configured
        message = f"provider {provider[:80]!r} has no device-code login configured here"
        return _refused(dashboard(request), request, message, status=400)
    login = await dashboard(request).logins.start(gateway, provider, profile)
    return RedirectResponse(f"/ui/logins/{login.id}", 303, headers=_HEADERS)


@page
async def login_status_page(request: Request, session: Session) -> Response:
    board = dashboard(request)
    login = board.logins.get(_gateway(request), request.path_params["login_id"])
    if login is None:
        return _refused(board, request, "no such login (the gateway restarted?)", status=404)
    view = login.view(board.logins.clock.now())
    return board.render(request, "device_login.html", session, login=view)


@page
async def login_status(request: Request, session: Session) -> Response:
    board = dashboard(request)
    login = board.logins.get(_gateway(request), request.path_params["login_id"])
    if login is None:
        return JSONResponse({"error": "no such login"}, 404, headers=_HEADERS)
    return JSONResponse(login.view(board.logins.clock.now()), headers=_HEADERS)


# The dashboard's own files, named here: nothing else under static/ is served.
STATIC = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}


async def static(request: Request) -> Response:
    """A script or style sheet; public (no session): they hold nothing but code."""
    name = request.path_params["name"]
    kind = STATIC.get(name)
    if kind is None:
        return surface_error(request.url.path, 404, f"no file {name[:80]!r}", code="not_found")
    headers = {"cache-control": "no-cache", "x-content-type-options": "nosniff"}
    return FileResponse(HERE / "static" / name, media_type=kind, headers=headers)


ROUTES: list[BaseRoute] = [
    Route("/ui", overview),
    Route("/ui/login", login_page),
    Route("/ui/login", login, methods=["POST"]),
    Route("/ui/logout", logout, methods=["POST"]),
    Route("/ui/turns", turns),
    Route("/ui/usage", usage),
    Route("/ui/keys", keys),
    Route("/ui/keys", create_key, methods=["POST"]),
    Route("/ui/keys/revoke", revoke_key, methods=["POST"]),
    Route("/ui/logins", start_login, methods=["POST"]),
    Route("/ui/logins/{login_id}", login_status_page),
    Route("/ui/logins/{login_id}/status", login_status),
    Route("/ui/static/{name}", static),
]

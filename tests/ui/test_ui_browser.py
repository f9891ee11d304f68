"""The dashboard in a real browser (Debian's chromium, driven by Playwright) on a real
`clawgate gateway run`: sign in, see the `needs_login` profile with its fix, log it in again
with a device code approved at the real authorization server, see it ok, make and revoke a
client key, and watch a forged cross-site POST be refused.

With ``CLAWGATE_DASHBOARD_SCREENSHOT=<path>`` the signed-in dashboard is saved there
(scripts/dashboard_screenshot.py makes docs/images/dashboard.png this way)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from clawgate.clock import ManualClock
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway
from tests.oidc_server import OidcServer
from tests.ui.conftest import DEAD_FIX, PROFILE, dead_login, document

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 30_000  # the device login polls every second; approval takes well under this


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed: apt-get install chromium (scripts/install.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(params=[1, 2], ids=["one process", "two workers"])
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, api: FakeModelAPI, idp: OidcServer
) -> Iterator[RunningGateway]:
    """A gateway of one process, and one of two workers: a browser's requests then reach
    both, so each must know the session and the login the other started."""
    state = tmp_path / "state"
    # Playwright's sync API runs an event loop in this thread: the login runs in another.
    with concurrent.futures.ThreadPoolExecutor(1) as other:
        other.submit(asyncio.run, dead_login(idp, state, ManualClock())).result()
    running = start_gateway(
        state, api, "--workers", str(request.param), document=document(api, idp)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def elsewhere() -> Iterator[http.server.ThreadingHTTPServer]:
    """Another origin on this machine (same site as 127.0.0.1, so the browser still sends a
    SameSite=Strict cookie: only the gateway's own checks stop its forms)."""
    forms: dict[str, bytes] = {}

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = forms.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.forms = forms  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def keys(gateway: RunningGateway) -> list[str]:
    listed = gateway.cli("gateway", "keys", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    return [k["name"] for k in json.loads(listed.stdout)]


def sign_in(page: Page, gateway: RunningGateway) -> None:
    page.goto(f"{gateway.url}/ui")
    expect(page).to_have_url(f"{gateway.url}/ui/login")
    page.fill("#token", gateway.token)
    page.click("form.signin button[type=submit]")
    expect(page).to_have_url(f"{gateway.url}/ui")
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies["clawgate_ui"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui")
    assert cookie["value"] != gateway.token


def test_the_dashboard_logs_a_profile_in_and_manages_keys(
    page: Page,
    gateway: RunningGateway,
    idp: OidcServer,
    elsewhere: http.server.ThreadingHTTPServer,
) -> None:
    assert gateway.chat("up/m").status_code == 200  # a turn for the turns page
    sign_in(page, gateway)

    row = page.locator(f'tr[data-profile="{PROFILE}"]')
    expect(row).to_have_attribute("data-state", "needs_login")
    expect(row.locator("code.fix")).to_have_text(DEAD_FIX)

    # The device login, from the profile's row, approved by the person at the issuer.
    row.locator("button.device-login").click()
    expect(page.locator("#login-waiting")).to_be_visible()
    code = page.locator("#login-code").inner_text()
    assert code
    link = f"{idp.issuer}/device?user_code={code}"  # verification_uri_complete (§3.3.1)
    expect(page.locator("#login-uri")).to_have_attribute("href", link)
    left = int(page.locator("#login-countdown").inner_text())
    assert left > 0
    idp.approve_device(code)
    expect(page.locator("#login-done")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#login-done")).to_contain_text(PROFILE)

    page.goto(f"{gateway.url}/ui")
    expect(row).to_have_attribute("data-state", "ok")
    shot = os.environ.get("CLAWGATE_DASHBOARD_SCREENSHOT")
    if shot:
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot, full_page=True)
    page.goto(f"{gateway.url}/ui/turns")
    expect(page.locator("#turns")).to_contain_text("up/m")

    # A client key: made, shown once, working, revoked.
    page.goto(f"{gateway.url}/ui/keys")
    page.fill("form.create-key input[name=name]", "laptop")
    page.fill("form.create-key input[name=rpm]", "60")
    page.click("form.create-key button[type=submit]")
    value = page.locator("#new-key").inner_text()
    assert value.startswith("cgk-")
    assert keys(gateway) == ["laptop"]
    models = httpx.get(f"{gateway.url}/v1/models", headers={"authorization": f"Bearer {value}"})
    assert models.status_code == 200
    page.goto(f"{gateway.url}/ui/keys")
    assert value not in page.content()  # shown once only
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('tr[data-key="laptop"] button.revoke').click()
    expect(page.locator('tr[data-key="laptop"]')).to_have_count(0)
    assert keys(gateway) == []
    models = httpx.get(f"{gateway.url}/v1/models", headers={"authorization": f"Bearer {value}"})
    assert models.status_code == 401

    # A page of another origin posts a form to the gateway with the signed-in cookie.
    port = elsewhere.server_address[1]
    elsewhere.forms["/forge"] = (  # type: ignore[attr-defined]
        f'<form id="f" method="post" action="{gateway.url}/ui/keys">'
        '<input name="name" value="forged"></form>'
        "<script>document.getElementById('f').submit()</script>"
    ).encode()
    with page.expect_response(f"{gateway.url}/ui/keys") as forged:
        page.goto(f"http://127.0.0.1:{port}/forge")
    assert forged.value.status == 403
    assert forged.value.request.headers.get("origin") == f"http://127.0.0.1:{port}"
    assert keys(gateway) == []
    # And a script there, posting with the cookie: refused the same way.
    elsewhere.forms["/blank"] = b"<p>another site</p>"  # type: ignore[attr-defined]
    page.goto(f"http://127.0.0.1:{port}/blank")
    with page.expect_response(f"{gateway.url}/ui/keys") as scripted:
        page.evaluate(
            """(url) => fetch(url, {method: "POST", credentials: "include", mode: "no-cors",
                                   body: new URLSearchParams({name: "forged2"})})""",
            f"{gateway.url}/ui/keys",
        )
    assert scripted.value.status == 403
    assert keys(gateway) == []

"""The dashboard at /ui, through the real app in this process: signing in with the gateway's
token only, the cookie's flags, expiry and sign-out, CSRF and Origin refusals that change
nothing, the Host check, and pages that show what the gateway knows and never a secret."""

from __future__ import annotations

import re

import httpx
import pytest

from clawgate.clock import ManualClock
from clawgate.gateway.ui import COOKIE, SESSION_SECONDS, Dashboard, DeviceLogins
from clawgate.secret import Secret
from clawgate.service import ClientKeyStore
from tests.gateway.inprocess import TOKEN, Local
from tests.ui.conftest import BASE, csrf_of, sign_in

pytestmark = pytest.mark.anyio

PAGES = ["/ui", "/ui/turns", "/ui/usage", "/ui/keys"]


def keys_of(local: Local) -> list[str]:
    return [k.name for k in ClientKeyStore(local.gateway.vault).all()]


async def test_every_page_sends_a_stranger_to_sign_in(browser: httpx.AsyncClient) -> None:
    for path in PAGES:
        answer = await browser.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")
    # The admin token as a bearer opens the API, not the dashboard: it takes a session.
    answer = await browser.get("/ui", headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 303
    page = await browser.get("/ui/login")
    assert page.status_code == 200
    assert 'name="token"' in page.text


async def test_signing_in_sets_a_strict_httponly_cookie_for_ui_only(
    browser: httpx.AsyncClient,
) -> None:
    answer = await sign_in(browser)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui")
    cookie = answer.headers["set-cookie"]
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=")
    assert {"httponly", "samesite", "path", "max-age"} <= flags.keys()
    assert flags["samesite"].strip().lower() == "samesite=strict"
    assert flags["path"].strip() == "Path=/ui"
    assert int(flags["max-age"].split("=")[1]) == SESSION_SECONDS
    assert TOKEN not in cookie
    page = await browser.get("/ui")
    assert page.status_code == 200
    assert "myidp" not in page.text or "Profiles" in page.text
    # The cookie is the dashboard's only: no API route takes it instead of the token.
    api = await browser.get("/control/status")
    assert api.status_code == 401


@pytest.mark.parametrize("wrong", ["", "cg-not-the-token", TOKEN + "x"])
async def test_a_wrong_token_opens_nothing(browser: httpx.AsyncClient, wrong: str) -> None:
    answer = await sign_in(browser, wrong)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "clawgate gateway token" in answer.text
    assert (await browser.get("/ui")).status_code == 303


async def test_a_client_key_does_not_open_the_dashboard(
    local: Local, browser: httpx.AsyncClient
) -> None:
    _, key = ClientKeyStore(local.gateway.vault).create("phone")
    answer = await sign_in(browser, key.reveal())
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    with_key = await browser.get("/ui", headers={"authorization": f"Bearer {key.reveal()}"})
    assert with_key.status_code == 303


async def test_a_session_expires_and_sign_out_ends_it(
    browser: httpx.AsyncClient, clock: ManualClock
) -> None:
    await sign_in(browser)
    assert (await browser.get("/ui/keys")).status_code == 200
    clock.advance(SESSION_SECONDS)
    assert (await browser.get("/ui/keys")).status_code == 303

    await sign_in(browser)
    page = await browser.get("/ui/keys")
    stolen = browser.cookies.get(COOKIE, path="/ui")
    out = await browser.post(
        "/ui/logout", data={"csrf": csrf_of(page.text)}, headers={"origin": BASE}
    )
    assert (out.status_code, out.headers["location"]) == (303, "/ui/login")
    # The id the cookie held is dead in the gateway, not only forgotten by the browser.
    assert stolen
    again = await browser.get("/ui/keys", headers={"cookie": f"{COOKIE}={stolen}"})
    assert again.status_code == 303


async def test_every_worker_knows_a_session_and_a_new_token_ends_it(
    local: Local, browser: httpx.AsyncClient, clock: ManualClock
) -> None:
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/ui/keys")).text)
    # Another worker of the gateway: its own memory, the same token and vault.
    local.app.state.dashboard = Dashboard(clock, DeviceLogins(clock))
    assert (await browser.get("/ui/keys")).status_code == 200
    made = await browser.post(
        "/ui/keys", data={"csrf": csrf, "name": "tv"}, headers={"origin": BASE}
    )
    assert made.status_code == 200
    assert keys_of(local) == ["tv"]
    # A forged cookie (a later expiry, the same signature) is no session.
    cookie = browser.cookies.get(COOKIE, path="/ui") or ""
    expires, nonce, mac = cookie.split(".")
    later = f"{int(expires) + 3600}.{nonce}.{mac}"
    assert (await browser.get("/ui", headers={"cookie": f"{COOKIE}={later}"})).status_code == 303
    local.gateway.token = Secret("cg-a-new-token")
    assert (await browser.get("/ui/keys")).status_code == 303


async def test_a_key_is_created_shown_once_and_revoked(
    local: Local, browser: httpx.AsyncClient
) -> None:
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/ui/keys")).text)
    made = await browser.post(
        "/ui/keys",
        data={"csrf": csrf, "name": "ide", "models": "up/m", "rpm": "30", "expires": "90d"},
        headers={"origin": BASE},
    )
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    [record] = ClientKeyStore(local.gateway.vault).all()
    assert (record.name, record.models, record.rpm) == ("ide", ("up/m",), 30)
    found = re.search(r'<code id="new-key" class="secret">([^<]+)</code>', made.text)
    assert found is not None
    value = found.group(1)
    assert ClientKeyStore(local.gateway.vault).find(value) == record  # the real key, once
    listed = await browser.get("/ui/keys")
    assert "ide" in listed.text
    assert value not in listed.text
    assert record.digest not in listed.text
    # The new key calls the API at once; it does not open the dashboard.
    api = await local.client.get("/v1/models", headers={"authorization": f"Bearer {value}"})
    assert api.status_code == 200

    gone = await browser.post(
        "/ui/keys/revoke", data={"csrf": csrf, "name": "ide"}, headers={"origin": BASE}
    )
    assert (gone.status_code, gone.headers["location"]) == (303, "/ui/keys")
    assert keys_of(local) == []
    api = await local.client.get("/v1/models", headers={"authorization": f"Bearer {value}"})
    assert api.status_code == 401


async def test_a_bad_key_form_says_what_to_fix(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/ui/keys")).text)
    for form, said in [
        ({"name": "Not A Name"}, "is not a client key name"),
        ({"name": "ok", "rpm": "many"}, "rpm is"),
        ({"name": "ok", "expires": "soon"}, "is not a span"),
    ]:
        answer = await browser.post(
            "/ui/keys", data={"csrf": csrf, **form}, headers={"origin": BASE}
        )
        assert answer.status_code == 400
        assert said in answer.text
    crowded = {f"f{n}": "x" for n in range(40)}
    answer = await browser.post(
        "/ui/keys", data={"csrf": csrf, **crowded}, headers={"origin": BASE}
    )
    assert answer.status_code == 400
    assert "more than 32 fields" in answer.text


FORGERIES = {
    "no token": ({}, {"origin": BASE}),
    "a wrong token": ({"csrf": "guessed"}, {"origin": BASE}),
    # gateway.cors lets this origin call the API; the dashboard still refuses it.
    "an allowed cross origin": (None, {"origin": "https://app.example.com"}),
    "a cross-site fetch": (None, {"sec-fetch-site": "cross-site"}),
    "a same-site fetch": (None, {"sec-fetch-site": "same-site"}),
}


@pytest.mark.parametrize("forgery", FORGERIES.keys())
async def test_a_forged_post_is_refused_and_changes_nothing(
    local: Local, browser: httpx.AsyncClient, forgery: str
) -> None:
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/ui/keys")).text)
    form, headers = FORGERIES[forgery]
    answer = await browser.post(
        "/ui/keys",
        data={"name": "forged", **(form if form is not None else {"csrf": csrf})},
        headers=headers,
    )
    assert answer.status_code == 403
    assert "nothing was changed" in answer.text
    assert keys_of(local) == []


async def test_a_sign_in_from_another_site_is_refused(browser: httpx.AsyncClient) -> None:
    answer = await browser.post(
        "/ui/login", data={"token": TOKEN}, headers={"origin": "https://app.example.com"}
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_a_rebound_host_is_refused_before_the_dashboard(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    for path in ["/ui", "/ui/login", "/ui/static/ui.js"]:
        answer = await browser.get(path, headers={"host": "attacker.example:18789"})
        assert answer.status_code == 421
        assert answer.json()["error"]["code"] == "host_not_allowed"


async def test_pages_show_the_gateway_and_never_a_secret(
    local: Local, browser: httpx.AsyncClient
) -> None:
    turn = await local.client.post(
        "/v1/chat/completions",
        json={"model": "up/m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert turn.status_code == 200
    await sign_in(browser)
    pages = {path: await browser.get(path) for path in PAGES}
    for path, answer in pages.items():
        assert answer.status_code == 200, path
        assert TOKEN not in answer.text, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
    turn_id = turn.headers["x-clawgate-turn"]
    assert turn_id in pages["/ui/turns"].text
    assert "up/m" in pages["/ui"].text  # the chain
    assert "telegram" in pages["/ui"].text  # the channels
    usage = await browser.get("/ui/usage", params={"since": "1d", "by": "model"})
    assert "up/m" in usage.text
    bad = await browser.get("/ui/usage", params={"since": "forever"})
    assert "is not a span" in bad.text
    # Assets are served by the gateway itself (no CDN), without a session.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(local.app), base_url=BASE) as new:
        script = await new.get("/ui/static/ui.js")
        assert script.status_code == 200
        assert "fetch(" in script.text

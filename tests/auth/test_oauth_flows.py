"""Browser, paste and device logins against a real authorization server on loopback."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clawgate.auth.logins import login_spec
from clawgate.auth.oauth import LoginTools, OAuthError, browser_login, device_login
from clawgate.auth.oauth.rfc7636 import s256
from clawgate.config import ProviderSettings
from tests.auth.login_ui import ScriptedUI
from tests.oidc_server import OidcServer

pytestmark = pytest.mark.anyio


def settings_for(idp: OidcServer) -> ProviderSettings:
    return ProviderSettings.model_validate(idp.provider_settings())


async def client_for(idp: OidcServer, http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    spec = login_spec("myidp", settings_for(idp))
    assert spec.client is not None
    return await spec.client(http, settings_for(idp))


async def walk(url: str, *, stop_at_redirect: bool = False) -> str:
    """The browser: follow the issuer's pages (it signs in and consents by itself) back to
    the redirect URI. With ``stop_at_redirect`` the last hop is not delivered, as when the
    browser runs on another machine; the address it would open is returned."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        while True:
            response = await browser.get(url)
            location = response.headers.get("location")
            if location is None:
                return url
            url = str(response.url.join(location))
            if stop_at_redirect and urlsplit(url).path == "/callback":
                return url


async def userinfo(idp: OidcServer, http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get(f"{idp.issuer}/me", headers={"Authorization": f"Bearer {token}"})


async def test_browser_login_brings_the_code_to_the_loopback_listener(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    delivered: list[str] = []

    async def browser(url: str) -> None:
        delivered.append(await walk(url))

    ui.on_url = browser
    tokens = await browser_login(
        tools, await client_for(idp, http), login_spec("x", settings_for(idp)).redirect
    )
    await ui.settle()

    query = parse_qs(urlsplit(ui.urls[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0]
    assert query["state"][0] not in query["code_challenge"][0]
    redirect = urlsplit(query["redirect_uri"][0])
    assert redirect.hostname == "127.0.0.1"
    assert redirect.port not in (None, 0)
    assert urlsplit(delivered[0]).netloc == redirect.netloc  # the browser ended at our listener
    assert tokens.refresh_token is not None
    assert (await userinfo(idp, http, tokens.access_token.reveal())).status_code == 200


async def test_listener_answers_with_a_page_and_connection_close(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    pages: list[httpx.Response] = []

    async def browser(url: str) -> None:
        callback = await walk(url, stop_at_redirect=True)
        async with httpx.AsyncClient() as b:
            # A stale tab from another login first: refused, and the login keeps waiting.
            wrong = callback.replace("state=", "state=stale")
            pages.append(await b.get(wrong))
            pages.append(await b.get(callback))

    ui.on_url = browser
    await browser_login(tools, await client_for(idp, http), settings_redirect())
    await ui.settle()
    stale, good = pages
    assert stale.status_code == 400
    assert "Not this login" in stale.text
    assert good.status_code == 200
    assert "Logged in" in good.text
    assert good.headers["connection"] == "close"


def settings_redirect():  # type: ignore[no-untyped-def]
    from clawgate.auth.oauth import Redirect

    return Redirect()


async def test_paste_of_the_redirect_address_races_the_listener(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    async def headless_browser(url: str) -> None:
        callback = await walk(url, stop_at_redirect=True)
        await ui.pastes.put("not a code at all")
        await ui.pastes.put(callback.replace("state=", "state=x"))  # another login's answer
        await ui.pastes.put(callback)

    ui.on_url = headless_browser
    tokens = await browser_login(tools, await client_for(idp, http), settings_redirect())
    await ui.settle()
    assert (await userinfo(idp, http, tokens.access_token.reveal())).status_code == 200
    assert any("state mismatch" in line for line in ui.said)
    assert any("does not look like an authorization code" in line for line in ui.said)


async def test_paste_of_the_bare_code(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    async def headless_browser(url: str) -> None:
        callback = await walk(url, stop_at_redirect=True)
        await ui.pastes.put(parse_qs(urlsplit(callback).query)["code"][0])

    ui.on_url = headless_browser
    tokens = await browser_login(tools, await client_for(idp, http), settings_redirect())
    await ui.settle()
    assert (await userinfo(idp, http, tokens.access_token.reveal())).status_code == 200


async def test_a_refused_login_is_a_clear_error(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    async def denying_browser(url: str) -> None:
        await walk(url + "&login_hint=deny")

    ui.on_url = denying_browser
    with pytest.raises(OAuthError, match="refused") as refused:
        await browser_login(tools, await client_for(idp, http), settings_redirect())
    assert refused.value.failure.code == "access_denied"


async def test_device_login_end_to_end(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    async def person(user_code: str, uri: str) -> None:
        assert uri.startswith(idp.issuer)
        await asyncio.to_thread(idp.approve_device, user_code)

    ui.on_code = person
    tokens = await device_login(tools, await client_for(idp, http))
    assert ui.codes
    assert ui.codes[0][2] > 0
    assert (await userinfo(idp, http, tokens.access_token.reveal())).status_code == 200


async def test_device_login_denied(
    idp: OidcServer, tools: LoginTools, ui: ScriptedUI, http: httpx.AsyncClient
) -> None:
    async def person(user_code: str, uri: str) -> None:
        await asyncio.to_thread(idp.approve_device, user_code, deny=True)

    ui.on_code = person
    with pytest.raises(OAuthError, match="denied") as denied:
        await device_login(tools, await client_for(idp, http))
    assert denied.value.failure.code == "access_denied"


async def test_device_code_expires_on_the_clock(
    idp: OidcServer, tools: LoginTools, http: httpx.AsyncClient
) -> None:
    # Nobody approves; the injected clock runs past expires_in.
    with pytest.raises(OAuthError, match="expired") as expired:
        await device_login(tools, await client_for(idp, http))
    assert expired.value.failure.code == "expired_token"


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )

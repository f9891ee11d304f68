"""`models auth logout --revoke` against the real authorization server (tests/servers,
oidc-provider with revocation enabled): RFC 7009 at the issuer, then the local delete; a
failed revocation keeps the login unless --force."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.vault import OAuthMaterial
from tests.auth.helpers import PROFILE, env_for, vault, write_config
from tests.cli.test_login import read_until, start
from tests.oidc_server import CLIENT_ID, OidcServer, oidc_server


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


def logged_in(idp: OidcServer, state: Path, **oauth: object) -> OAuthMaterial:
    """A real device login, as `models auth login` makes it."""
    write_config(state, idp, **oauth)
    process = start(state, "--provider", "myidp", "--device-code")
    code = read_until(process, r"\b([A-Z]{4}-[A-Z]{4})\b").group(1)
    idp.approve_device(code)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    material = vault(state).load(PROFILE).material
    assert isinstance(material, OAuthMaterial)
    assert material.refresh is not None
    return material


def logout(state: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["models", "auth", "logout", PROFILE, *args], obj=App(env_for(state))
    )


def refresh_answer(idp: OidcServer, material: OAuthMaterial) -> httpx.Response:
    assert material.refresh is not None
    return httpx.post(
        f"{idp.issuer}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": material.refresh.reveal(),
            "client_id": CLIENT_ID,
        },
    )


def test_revoke_ends_the_grant_at_the_issuer_then_deletes_here(
    idp: OidcServer, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    material = logged_in(idp, state)
    result = logout(state, "--revoke")
    assert result.exit_code == 0, result.stderr
    assert "revoked at the issuer: refresh token, access token" in result.stdout
    assert "local credentials deleted" in result.stdout
    assert PROFILE not in vault(state).profile_ids()
    refused = refresh_answer(idp, material)  # the grant is gone at the issuer
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert material.refresh is not None
    assert material.refresh.reveal() not in result.stdout + result.stderr


def test_a_failed_revocation_keeps_the_login_unless_forced(idp: OidcServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    # An endpoint that answers 404: the issuer could not revoke anything.
    material = logged_in(idp, state, revocationEndpoint=f"{idp.issuer}/no-such-endpoint")
    kept = logout(state, "--revoke")
    assert kept.exit_code == 1
    assert "the login is still stored here" in kept.stderr
    assert "--revoke --force" in kept.stderr
    assert "Traceback" not in kept.stderr
    assert PROFILE in vault(state).profile_ids()
    assert refresh_answer(idp, material).status_code == 200  # the grant is alive there

    forced = logout(state, "--revoke", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "not revoked:" in forced.stderr
    assert PROFILE not in vault(state).profile_ids()


def test_revoking_an_api_key_is_refused_and_keeps_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = env_for(state)
    added = CliRunner().invoke(
        cli,
        ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"],
        obj=App(env),
        input="sk-test\n",
    )
    assert added.exit_code == 0, added.stderr
    result = CliRunner().invoke(
        cli, ["models", "auth", "logout", "openai:default", "--revoke"], obj=App(env)
    )
    assert result.exit_code == 1
    assert "not an OAuth login" in result.stderr
    assert "openai:default" in vault(state).profile_ids()

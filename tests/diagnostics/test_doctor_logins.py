"""`doctor` and a credential its provider cannot use: a ChatGPT login filed under the
API-key provider ``openai`` is a failure, and ``--fix`` moves it to ``openai-codex`` with its
order and refs, a backup of the envelope and the config, and a receipt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import load_config
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, OAuthMaterial, Vault
from tests.auth.helpers import env_for

LOGIN = "openai:me@example.com"
MOVED = "openai-codex:me@example.com"
MATERIAL = OAuthMaterial(
    access=Secret("chatgpt-access"),
    refresh=Secret("rt_x"),
    expires_at=1.9e9,
    email="me@example.com",
)
CONFIG = {
    "agents": {"defaults": {"model": {"primary": "openai/gpt-5.5"}}},
    "auth": {
        "order": {"openai": [LOGIN, "openai:key"]},
        "profiles": {
            LOGIN: {"provider": "openai", "mode": "oauth"},
            "openai:key": {"provider": "openai", "mode": "api_key"},
        },
    },
}


def doctor(state: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["doctor", "--json", *args], obj=App(env_for(state)))
    return result, json.loads(result.stdout)


def check(document: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in document["checks"] if c["name"] == name]
    return found


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    vault = Vault.open(path, {})
    vault.save(LOGIN, "openai", MATERIAL)
    vault.save("openai:key", "openai", ApiKeyMaterial(Secret("sk-key")))
    (path / "clawgate.json").write_text(json.dumps(CONFIG))
    return path


def test_a_chatgpt_login_on_the_api_key_provider_fails_and_fix_moves_it(state: Path) -> None:
    before = (state / "clawgate.json").read_text()
    found, report = doctor(state)
    assert found.exit_code == 1
    failed = check(report, f"profile {LOGIN}")
    assert failed["status"] == "fail"
    assert failed["fixable"] is True
    assert "wrong endpoint" in failed["message"]
    assert check(report, "profile openai:key")["status"] == "ok"

    fixed, report = doctor(state, "--fix")
    assert fixed.exit_code == 0, fixed.stdout
    assert check(report, f"profile {LOGIN}")["status"] == "fixed"
    vault = Vault.open(state, {})
    assert LOGIN not in vault.profile_ids()
    assert vault.load(MOVED).provider == "openai-codex"
    assert vault.load(MOVED).material == MATERIAL
    settings = load_config(state / "clawgate.json", {}).settings
    assert settings.agents.defaults.model.primary == "openai-codex/gpt-5.5"
    assert settings.agents.defaults.model.fallbacks == ["openai/gpt-5.5"]  # the key's turn
    assert settings.auth.order == {"openai": ["openai:key"], "openai-codex": [MOVED]}
    assert settings.auth.profiles[MOVED].provider == "openai-codex"

    # The backups restore what was there; the receipt lists the change.
    [config_backup] = state.glob("clawgate.json.bak-*-logins")
    assert config_backup.read_text() == before
    [envelope] = (state / "doctor").glob("backup-*/*.json")
    assert envelope.read_bytes() != b""
    [receipt] = (state / "doctor").glob("receipt-*.json")
    changes = json.loads(receipt.read_text())["changes"]
    assert any(f"moved {LOGIN} to {MOVED}" in c for entry in changes for c in entry["changes"])

    again, report = doctor(state, "--fix")
    assert again.exit_code == 0
    assert report["changes"] == []
    assert check(report, f"profile {MOVED}")["status"] == "ok"


def test_an_api_key_on_the_subscription_provider_fails_with_the_login_command(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    Vault.open(state, {}).save("openai-codex:key", "openai-codex", ApiKeyMaterial(Secret("sk")))
    result, report = doctor(state)
    assert result.exit_code == 1
    failed = check(report, "profile openai-codex:key")
    assert failed["status"] == "fail"
    assert failed["fixable"] is False
    assert failed["fix"] == "clawgate models auth login --provider openai-codex --device-code"


def test_status_and_the_profile_list_agree_with_doctor(state: Path) -> None:
    """Not "ok" anywhere: the same classification in `models status` and `models auth list`,
    with doctor's repair as the fix."""
    app = App(env_for(state))
    status = CliRunner().invoke(cli, ["models", "status", "--json"], obj=app)
    listed = CliRunner().invoke(cli, ["models", "auth", "list", "--json"], obj=app)
    for output in (status.stdout, listed.stdout):
        profiles = {p["profile"]: p for p in json.loads(output)["profiles"]}
        assert profiles[LOGIN]["state"] == "unresolved"
        assert "wrong endpoint" in profiles[LOGIN]["detail"]
        assert "clawgate doctor --fix" in profiles[LOGIN]["fix"]
        assert profiles["openai:key"]["state"] == "ok"

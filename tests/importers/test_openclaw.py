from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import Paths, load_config
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, OAuthMaterial, TokenMaterial, Vault
from tests.auth.openclaw_fixture import SEED, jwt, snapshot, write_sidecar, write_store
from tests.canary import CANARY

REF = "0123456789abcdef0123456789abcdef"
CODEX_ACCESS = jwt(
    {
        "exp": 1_900_000_000,
        "https://api.openai.com/auth": {
            "chatgpt_account_id": "acct-1",
            "chatgpt_plan_type": "plus",
        },
        "https://api.openai.com/profile": {"email": "me@example.com"},
    }
)


def openclaw_state(root: Path) -> Path:
    state = root / "openclaw"
    write_store(
        state,
        "main",
        {
            "version": 1,
            "profiles": {
                "openai:default": {"type": "api_key", "provider": "openai", "key": CANARY},
                "anthropic:manual": {
                    "type": "token",
                    "provider": "anthropic",
                    "token": "sk-ant-oat01-token",
                    "expires": 1_900_000_000_000,
                },
                "openai-codex:me@example.com": {
                    "type": "oauth",
                    "provider": "openai-codex",
                    "oauthRef": {
                        "source": "openclaw-credentials",
                        "provider": "openai-codex",
                        "id": REF,
                    },
                    "expires": 1_900_000_000_000,
                    "accountId": "acct-1",
                    "email": "me@example.com",
                },
                "google:inline": {
                    "type": "oauth",
                    "provider": "google",
                    "access": "ya29.access",
                    "refresh": "1//refresh",
                    "expires": 1_900_000_000_000,
                },
                "openrouter:env": {
                    "type": "api_key",
                    "provider": "openrouter",
                    "keyRef": {"source": "env", "provider": "default", "id": "OPENROUTER_API_KEY"},
                },
            },
            "lastGood": {"openai": "openai:default"},
        },
    )
    # A legacy store: a flat map with "mode" and "apiKey".
    write_store(
        state,
        "legacy",
        {"mistral:old": {"mode": "api_key", "provider": "mistral", "apiKey": "mk-1"}},
    )
    write_sidecar(
        state,
        REF,
        "openai-codex:me@example.com",
        "openai-codex",
        {"access": CODEX_ACCESS, "refresh": "rt_refresh", "idToken": "eyJ.id.token"},
    )
    (state / "openclaw.json").write_text(
        """{
  // OpenClaw's own config (JSON5)
  agents: { defaults: {
    model: { primary: "openai-codex/gpt-5.5", fallbacks: ["anthropic/claude-opus-4-7"] },
    models: { "openai-codex/gpt-5.5": { alias: "gpt" } },
  } },
  auth: { order: { "openai-codex": ["openai-codex:me@example.com"] } },
  plugins: { entries: { codex: { enabled: true } } },
}"""
    )
    return state


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["import", *args], obj=App(env))


def vault_of(paths: Paths) -> Vault:
    return Vault.open(paths.state_dir, {})


def test_openclaw_import_copies_every_kind_and_leaves_the_source_alone(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = openclaw_state(tmp_path)
    before = snapshot(state)
    env = {**state_env, "OPENCLAW_AUTH_PROFILE_SECRET_KEY": SEED}
    result = run(env, "openclaw", "--state-dir", str(state), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["imported"]) == [
        "anthropic:manual",
        "google:inline",
        "mistral:old",
        "openai-codex:me@example.com",
        "openai:default",
    ]
    assert report["skipped"] == [
        {
            "profile": "openrouter:env",
            "reason": "the key is a secret reference (env/file/exec), not a value",
        }
    ]
    assert "refreshing" in report["warning"]
    assert snapshot(state) == before

    vault = vault_of(paths)
    assert vault.load("openai:default").material == ApiKeyMaterial(Secret(CANARY))
    assert vault.load("mistral:old").material == ApiKeyMaterial(Secret("mk-1"))
    token = vault.load("anthropic:manual").material
    assert token == TokenMaterial(Secret("sk-ant-oat01-token"), expires_at=1_900_000_000.0)
    codex = vault.load("openai-codex:me@example.com").material
    assert isinstance(codex, OAuthMaterial)
    assert codex.access == Secret(CODEX_ACCESS)
    assert codex.refresh == Secret("rt_refresh")
    assert codex.expires_at == 1_900_000_000.0
    assert (codex.account_id, codex.email) == ("acct-1", "me@example.com")

    settings = load_config(paths.config_file, {}).settings
    assert settings.agents.defaults.model.primary == "openai-codex/gpt-5.5"
    assert settings.agents.defaults.model.fallbacks == ["anthropic/claude-opus-4-7"]
    assert settings.agents.defaults.models["openai-codex/gpt-5.5"].alias == "gpt"
    assert settings.auth.order["openai-codex"] == ["openai-codex:me@example.com"]
    assert settings.auth.profiles["openai-codex:me@example.com"].mode == "oauth"
    assert "plugins" not in paths.config_file.read_text()


def test_openclaw_seed_is_read_from_its_key_file(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = openclaw_state(tmp_path)
    home = tmp_path / "home"
    (home / ".config" / "openclaw").mkdir(parents=True)
    (home / ".config" / "openclaw" / "auth-profile-secret-key").write_text(SEED + "\n")
    result = run({**state_env, "HOME": str(home)}, "openclaw", "--state-dir", str(state), "--json")
    assert "openai-codex:me@example.com" in json.loads(result.stdout)["imported"]


def test_a_sidecar_that_cannot_be_decrypted_is_reported(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = openclaw_state(tmp_path)
    env = {**state_env, "OPENCLAW_AUTH_PROFILE_SECRET_KEY": "the-wrong-seed", "HOME": str(tmp_path)}
    report = json.loads(run(env, "openclaw", "--state-dir", str(state), "--json").stdout)
    reasons = {s["profile"]: s["reason"] for s in report["skipped"]}
    assert reasons["openai-codex:me@example.com"].startswith("cannot decrypt its sidecar")
    assert "openai-codex:me@example.com" not in vault_of(paths).profile_ids()

    no_seed = json.loads(
        run(
            {**state_env, "HOME": str(tmp_path)}, "openclaw", "--state-dir", str(state), "--json"
        ).stdout
    )
    reasons = {s["profile"]: s["reason"] for s in no_seed["skipped"]}
    assert "no OpenClaw key" in reasons["openai-codex:me@example.com"]


def test_malformed_openclaw_files_are_reported_not_fatal(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = tmp_path / "openclaw"
    broken = write_store(state, "a", "{ malformed credentials\n")
    write_store(
        state,
        "b",
        {
            "profiles": {
                "openai:x": {"type": "api_key", "provider": "openai", "key": ""},
                "Bad Id": {"type": "api_key", "key": "k"},
                "weird:y": {"type": "password", "provider": "weird"},
                "openai:ok": {"type": "api_key", "provider": "openai", "key": "k"},
            }
        },
    )
    (state / "openclaw.json").write_text("{ not json5")
    result = run(
        {**state_env, "HOME": str(tmp_path)}, "openclaw", "--state-dir", str(state), "--json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["imported"] == ["openai:ok"]
    reasons = {s["profile"]: s["reason"] for s in report["skipped"]}
    assert reasons[str(broken)] == f"{broken} is not readable JSON"
    assert reasons["openai:x"] == "API key is empty"
    assert "is not a profile id" in reasons["Bad Id"]
    assert reasons["weird:y"] == "unknown credential type 'password'"
    assert reasons["openclaw.json"].endswith("is not readable JSON")


def test_a_profile_already_in_the_vault_is_kept(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = openclaw_state(tmp_path)
    vault_of(paths).save("openai:default", "openai", ApiKeyMaterial(Secret("mine")))
    report = json.loads(run(state_env, "openclaw", "--state-dir", str(state), "--json").stdout)
    assert {"profile": "openai:default", "reason": "already in clawgate's vault (kept as is)"} in (
        report["skipped"]
    )
    assert vault_of(paths).load("openai:default").material == ApiKeyMaterial(Secret("mine"))


def test_no_openclaw_state_is_a_clear_error(tmp_path: Path, state_env: dict[str, str]) -> None:
    result = run(state_env, "openclaw", "--state-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no OpenClaw state found" in result.stderr


def codex_home(root: Path, auth: object) -> Path:
    home = root / "codex"
    home.mkdir()
    (home / "auth.json").write_text(auth if isinstance(auth, str) else json.dumps(auth))
    return home


def test_codex_cli_import(tmp_path: Path, state_env: dict[str, str], paths: Paths) -> None:
    home = codex_home(
        tmp_path,
        {
            "OPENAI_API_KEY": None,
            "tokens": {
                "id_token": jwt(
                    {
                        "email": "me@example.com",
                        "https://api.openai.com/auth": {
                            "chatgpt_account_id": "acct-1",
                            "chatgpt_plan_type": "pro",
                        },
                    }
                ),
                "access_token": CODEX_ACCESS,
                "refresh_token": "rt_codex",
                "account_id": "acct-1",
            },
            "last_refresh": "2026-11-20T10:00:00Z",
        },
    )
    before = snapshot(home)
    result = run(state_env, "codex-cli", "--codex-home", str(home))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported openai-codex:me@example.com from auth.json (tokens)\n"
    assert "warning:" in result.stderr
    assert snapshot(home) == before
    material = vault_of(paths).load("openai-codex:me@example.com").material
    assert isinstance(material, OAuthMaterial)
    assert (material.account_id, material.plan, material.expires_at) == ("acct-1", "pro", 1.9e9)
    assert material.refresh == Secret("rt_codex")


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("{not json", "is not readable JSON"),
        ({"tokens": {"access_token": ""}}, "auth.json has no access token"),
    ],
)
def test_malformed_codex_files(
    tmp_path: Path, state_env: dict[str, str], paths: Paths, auth: object, message: str
) -> None:
    result = run(state_env, "codex-cli", "--codex-home", str(codex_home(tmp_path, auth)))
    assert message in result.stdout + result.stderr
    assert vault_of(paths).profile_ids() == []


def test_missing_codex_login(tmp_path: Path, state_env: dict[str, str]) -> None:
    result = run(state_env, "codex-cli", "--codex-home", str(tmp_path))
    assert result.exit_code == 1
    assert "no Codex CLI login found" in result.stderr


def test_an_import_edits_the_config_once_and_backs_up_the_text_from_before(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = openclaw_state(tmp_path)
    paths.state_dir.mkdir(parents=True)
    original = "// mine\n{gateway: {port: 18800}}\n"
    paths.config_file.write_text(original)
    env = {**state_env, "OPENCLAW_AUTH_PROFILE_SECRET_KEY": SEED}
    result = run(env, "openclaw", "--state-dir", str(state), "--json")
    assert len(json.loads(result.stdout)["imported"]) == 5
    settings = load_config(paths.config_file, {}).settings
    assert settings.gateway.port == 18800
    assert len(settings.auth.profiles) == 5
    assert settings.agents.defaults.model.primary == "openai-codex/gpt-5.5"
    assert paths.config_file.with_name("clawgate.json.bak").read_text() == original

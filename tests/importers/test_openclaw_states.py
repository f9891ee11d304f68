"""`clawgate import openclaw` on state dirs a real OpenClaw wrote (openclaw_states/README.md):
SQLite only (both generations), JSON only, and a dir with both."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import DEFAULT_PRIMARY, Paths, load_config
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, OAuthMaterial, TokenMaterial, Vault
from tests.auth.openclaw_fixture import snapshot, write_store

STATES = Path(__file__).parent / "openclaw_states"
LOGIN = "openai-codex:me@example.com"


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def copied(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(STATES / name, target)
    return target


def imported(env: dict[str, str], state: Path, *more: str) -> dict[str, Any]:
    result = invoke(env, "import", "openclaw", "--state-dir", str(state), "--json", *more)
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize(
    ("name", "api_key", "origin"),
    [
        ("sqlite-shared-db", "openai:manual", "state/openclaw.sqlite"),
        ("sqlite-agent-db", "openai:manual", "agents/main/agent/openclaw-agent.sqlite"),
        ("json-only", "openai:default", "agents/main/agent/auth-profiles.json"),
    ],
)
def test_every_store_generation_imports_the_same_logins_and_chain(
    tmp_path: Path, state_env: dict[str, str], paths: Paths, name: str, api_key: str, origin: str
) -> None:
    state = copied(name, tmp_path)
    before = snapshot(state)
    report = imported(state_env, state)
    assert snapshot(state) == before  # byte for byte, and not even touched

    assert sorted(report["imported"]) == sorted(["anthropic:manual", api_key, LOGIN])
    lines = {line["profile"]: line for line in report["profiles"]}
    assert lines["openai:me@example.com"]["became"] == LOGIN
    assert lines["openai:me@example.com"]["provider"] == "openai-codex"
    assert all(line["origin"].startswith(origin) for line in lines.values())
    assert lines[api_key]["became"] == api_key  # an API key stays on openai
    assert any("cooldowns" in note for note in report["notes"])

    vault = Vault.open(paths.state_dir, {})
    login = vault.load(LOGIN)
    assert login.provider == "openai-codex"
    assert isinstance(login.material, OAuthMaterial)
    assert login.material.email == "me@example.com"
    assert login.material.expires_at == 1_900_000_000
    assert vault.load(api_key).provider == "openai"
    assert isinstance(vault.load(api_key).material, ApiKeyMaterial)
    assert isinstance(vault.load("anthropic:manual").material, TokenMaterial)

    settings = load_config(paths.config_file, {}).settings
    chain = settings.agents.defaults.model
    # openai/gpt-5.5 on the ChatGPT login follows it; OpenClaw tried the login before the
    # key, so the key's openai/gpt-5.5 comes right after.
    assert chain.primary == "openai-codex/gpt-5.5"
    assert chain.fallbacks == ["openai/gpt-5.5", "anthropic/claude-opus-4-7"]
    assert settings.agents.defaults.models["openai-codex/gpt-5.5"].alias == "gpt"
    assert settings.auth.order == {"openai": [api_key], "openai-codex": [LOGIN]}

    # status and doctor agree with what was imported: the login is on openai-codex, ok.
    status = json.loads(invoke(state_env, "models", "status", "--json").stdout)
    states = {p["profile"]: (p["provider"], p["state"]) for p in status["profiles"]}
    assert states[LOGIN] == ("openai-codex", "ok")
    assert status["chain"][0]["ref"] == "openai-codex/gpt-5.5"
    assert status["chain"][0]["steps"][0] == {
        "profile": LOGIN,
        "decision": "candidate",
        "reason": None,
    }
    doctor = json.loads(invoke(state_env, "doctor", "--json").stdout)
    checks = {c["name"]: c["status"] for c in doctor["checks"]}
    assert checks[f"profile {LOGIN}"] == "ok"
    assert checks[f"profile {api_key}"] == "ok"


def test_a_mixed_dir_imports_the_json_file_and_the_database(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = copied("mixed", tmp_path)
    before = snapshot(state)
    report = imported(state_env, state)
    assert snapshot(state) == before
    origins = {line["became"]: line["origin"] for line in report["profiles"]}
    assert origins["anthropic:manual"] == "agents/main/agent/auth-profiles.json"
    assert origins["openai:work"].startswith("agents/main/agent/openclaw-agent.sqlite")
    assert origins[LOGIN].startswith("agents/main/agent/openclaw-agent.sqlite")
    chain = load_config(paths.config_file, {}).settings.agents.defaults.model
    assert [chain.primary, *chain.fallbacks] == ["openai-codex/gpt-5.5", "openai/gpt-5.5"]


def test_a_second_import_changes_nothing_and_is_no_error(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = copied("sqlite-shared-db", tmp_path)
    imported(state_env, state)
    text = paths.config_file.read_text()
    again = imported(state_env, state)
    assert again["imported"] == []
    assert {s["reason"] for s in again["skipped"]} == {
        "already in clawgate's vault (kept as is)",
        f"{LOGIN} is already in clawgate's vault (kept as is)",
    }
    assert paths.config_file.read_text() == text


def test_setup_first_then_import_replaces_the_default_chain(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    assert invoke(state_env, "setup").exit_code == 0
    assert load_config(paths.config_file, {}).settings.agents.defaults.model.primary == (
        DEFAULT_PRIMARY
    )
    report = imported(state_env, copied("json-only", tmp_path))
    assert "agents.defaults.model (replaced the default chain)" in report["config"]
    chain = load_config(paths.config_file, {}).settings.agents.defaults.model
    assert chain.primary == "openai-codex/gpt-5.5"
    assert report["kept"] == []


def test_import_into_an_edited_config_merges_and_names_what_it_kept(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    paths.state_dir.mkdir(parents=True)
    paths.config_file.write_text(
        '{agents: {defaults: {model: {primary: "anthropic/claude-sonnet-4-5"}, '
        'models: {"anthropic/claude-sonnet-4-5": {alias: "gpt"}}}}}'
    )
    result = invoke(
        state_env, "import", "openclaw", "--state-dir", str(copied("json-only", tmp_path))
    )
    assert result.exit_code == 0, result.stderr
    settings = load_config(paths.config_file, {}).settings
    assert settings.agents.defaults.model.primary == "anthropic/claude-sonnet-4-5"
    assert settings.agents.defaults.models["anthropic/claude-sonnet-4-5"].alias == "gpt"
    assert settings.auth.order["openai-codex"] == [LOGIN]  # not set before: added
    kept = result.stderr
    assert "clawgate models set openai-codex/gpt-5.5" in kept
    assert "clawgate models fallbacks add anthropic/claude-opus-4-7" in kept
    assert "clawgate models aliases add gpt openai-codex/gpt-5.5" in kept


def test_an_import_that_finds_nothing_usable_is_an_error_naming_what_it_found(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = tmp_path / "openclaw"
    (state / "agents" / "main" / "agent").mkdir(parents=True)
    (state / "agents" / "main" / "agent" / "auth-profiles.json").write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "openrouter:env": {
                        "type": "api_key",
                        "provider": "openrouter",
                        "keyRef": {"source": "env", "id": "OPENROUTER_API_KEY"},
                    }
                },
            }
        )
    )
    result = invoke(state_env, "import", "openclaw", "--state-dir", str(state))
    assert result.exit_code == 1
    assert "nothing could be imported" in result.stderr
    assert "agents/main/agent/auth-profiles.json" in result.stderr
    assert "openrouter:env: the key is a secret reference" in result.stderr
    assert "Traceback" not in result.stderr
    assert not paths.config_file.exists()


def test_an_unknown_agent_is_refused_with_the_agents_there(
    tmp_path: Path, state_env: dict[str, str]
) -> None:
    state = copied("sqlite-agent-db", tmp_path)
    result = invoke(state_env, "import", "openclaw", "--state-dir", str(state), "--agent", "work")
    assert result.exit_code == 1
    assert "OpenClaw has no agent 'work'" in result.stderr
    assert "(agents: main)" in result.stderr


def two_agents(root: Path) -> Path:
    """Two OpenClaw agents with stores and chains of their own (the store shape as above)."""
    state = root / "openclaw"
    key = {"type": "api_key", "provider": "openai"}
    write_store(state, "main", {"version": 1, "profiles": {"openai:shared": {**key, "key": "k1"}}})
    work = {
        "openai:shared": {**key, "key": "k-other"},
        "anthropic:work": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-w"},
    }
    write_store(state, "work", {"version": 1, "profiles": work})
    (state / "openclaw.json").write_text(
        json.dumps(
            {
                "agents": {
                    "list": [
                        {"id": "main", "default": True, "model": "openai/gpt-4.1-mini"},
                        {"id": "work", "model": {"primary": "anthropic/claude-sonnet-4-5"}},
                    ]
                }
            }
        )
    )
    return state


def test_agents_stores_are_all_read_and_their_chains_kept_apart(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = two_agents(tmp_path)
    result = invoke(state_env, "import", "openclaw", "--state-dir", str(state), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["imported"]) == ["anthropic:work", "openai:shared"]
    [clash] = [s for s in report["skipped"] if s["profile"] == "openai:shared"]
    assert clash["reason"].startswith("agents/main/agent/auth-profiles.json holds another")
    assert Vault.open(paths.state_dir, {}).load("openai:shared").material == ApiKeyMaterial(
        Secret("k1")
    )
    chain = load_config(paths.config_file, {}).settings.agents.defaults.model
    assert (chain.primary, chain.fallbacks) == ("openai/gpt-4.1-mini", [])
    [kept] = report["kept"]
    assert kept["command"] == "clawgate import openclaw --agent work"


def test_one_agent_is_imported_with_agent(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    state = two_agents(tmp_path)
    report = imported(state_env, state, "--agent", "work")
    assert sorted(report["imported"]) == ["anthropic:work", "openai:shared"]
    assert Vault.open(paths.state_dir, {}).load("openai:shared").material == ApiKeyMaterial(
        Secret("k-other")
    )
    chain = load_config(paths.config_file, {}).settings.agents.defaults.model
    assert chain.primary == "anthropic/claude-sonnet-4-5"


def test_a_chain_openclaw_runs_on_codex_arrives_on_openai_codex(
    tmp_path: Path, state_env: dict[str, str], paths: Paths
) -> None:
    """`agentRuntime: codex` (what `doctor --fix` migrates) is applied to what is copied."""
    state = tmp_path / "openclaw"
    write_store(state, "main", {"version": 1, "profiles": {}})
    (state / "openclaw.json").write_text(
        json.dumps(
            {
                "agents": {"defaults": {"model": {"primary": "codex/gpt-5.5"}}},
                "models": {"providers": {"openai": {"agentRuntime": {"id": "codex"}}}},
            }
        )
    )
    before = (state / "openclaw.json").read_bytes()
    report = imported(state_env, state)
    assert "openclaw.json: model codex/gpt-5.5 → openai-codex/gpt-5.5" in " ".join(report["notes"])
    chain = load_config(paths.config_file, {}).settings.agents.defaults.model
    assert chain.primary == "openai-codex/gpt-5.5"
    assert (state / "openclaw.json").read_bytes() == before


def test_a_damaged_database_is_reported_and_the_rest_imported(
    tmp_path: Path, state_env: dict[str, str]
) -> None:
    state = copied("json-only", tmp_path)
    (state / "agents" / "main" / "agent" / "openclaw-agent.sqlite").write_bytes(b"not sqlite" * 50)
    before = snapshot(state)
    report = imported(state_env, state)
    assert snapshot(state) == before
    reasons = {s["profile"]: s["reason"] for s in report["skipped"]}
    assert reasons["agents/main/agent/openclaw-agent.sqlite"].endswith(
        "is not a readable SQLite database"
    )
    assert "openai:default" in report["imported"]


def test_a_database_in_use_is_read_with_its_wal_and_left_alone(
    tmp_path: Path, state_env: dict[str, str]
) -> None:
    """OpenClaw running: its last commit is still in the -wal. The copy read includes it; the
    database, its -wal and -shm are not touched."""
    state = tmp_path / "openclaw"
    folder = state / "agents" / "main" / "agent"
    folder.mkdir(parents=True)
    store = {"version": 1, "profiles": {"openai:live": {"type": "api_key", "key": "sk-live"}}}
    writer = sqlite3.connect(folder / "openclaw-agent.sqlite")
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")  # the commit stays in the -wal
        writer.execute(
            "CREATE TABLE auth_profile_store (store_key TEXT PRIMARY KEY, store_json TEXT NOT "
            "NULL, updated_at INTEGER NOT NULL) STRICT"
        )
        writer.execute(
            "INSERT INTO auth_profile_store VALUES ('primary', ?, 1)", (json.dumps(store),)
        )
        writer.commit()
        assert (folder / "openclaw-agent.sqlite-wal").stat().st_size > 0
        before = snapshot(state)
        report = imported(state_env, state)
        assert report["imported"] == ["openai:live"]
        assert snapshot(state) == before
    finally:
        writer.close()

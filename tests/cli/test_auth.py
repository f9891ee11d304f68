"""`clawgate models auth …` through click's runner, on a real vault in a temp state dir."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import DEFAULT_CONFIG_TEXT, Paths, load_config, setup
from tests.canary import CANARY

SETUP_TOKEN = "sk-ant-oat01-" + "Q" * 40


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["models", "auth", *args], obj=App(env), input=stdin)


def listed(env: dict[str, str]) -> dict[str, dict[str, object]]:
    result = run(env, "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {p["profile"]: p for p in json.loads(result.stdout)["profiles"]}


def test_add_list_logout_an_api_key(state_env: dict[str, str], paths: Paths) -> None:
    added = run(state_env, "add", "--provider", "openai", "--api-key-stdin", stdin=CANARY + "\n")
    assert added.exit_code == 0, added.stderr
    assert added.stdout.startswith("stored openai:default (api_key, metered) generation 1")

    profile = listed(state_env)["openai:default"]
    assert profile["state"] == "ok"
    assert profile["secret"] == f"…{CANARY[-4:]}"
    assert profile["billing"] == "metered"

    table = run(state_env, "list")
    assert "openai:default" in table.stdout
    assert f"…{CANARY[-4:]}" in table.stdout

    config = load_config(paths.config_file, {}).settings
    assert config.auth.profiles["openai:default"].mode == "api_key"
    assert CANARY not in paths.config_file.read_text()
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o600

    out = run(state_env, "logout", "openai:default")
    assert out.stdout == "logged out openai:default: local credentials deleted\n"
    assert listed(state_env) == {}
    assert "openai:default" not in load_config(paths.config_file, {}).settings.auth.profiles
    assert run(state_env, "logout", "openai:default").stdout == "openai:default: nothing stored\n"


def test_a_first_profile_creates_a_private_state_dir(
    state_env: dict[str, str], paths: Paths
) -> None:
    assert not paths.state_dir.exists()
    result = run(state_env, "add", "--provider", "openai", "--api-key-stdin", stdin="key-1")
    assert result.exit_code == 0, result.stderr
    for directory in (paths.state_dir, paths.vault_dir, paths.vault_dir / "profiles"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_a_config_elsewhere_leaves_its_directory_alone(
    state_env: dict[str, str], tmp_path: Path
) -> None:
    shared = tmp_path / "dotfiles"
    shared.mkdir(mode=0o755)
    env = {**state_env, "CLAWGATE_CONFIG": str(shared / "clawgate.json")}
    result = run(env, "add", "--provider", "openai", "--api-key-stdin", stdin="key-1")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "clawgate.json").stat().st_mode) == 0o600


def test_add_needs_the_key_on_stdin(state_env: dict[str, str]) -> None:
    result = run(state_env, "add", "--provider", "openai")
    assert result.exit_code == 2
    assert "--api-key-stdin" in result.stderr
    empty = run(state_env, "add", "--provider", "openai", "--api-key-stdin", stdin="\n")
    assert empty.exit_code == 2
    assert "empty" in empty.stderr


def test_paste_token_checks_the_shape_and_records_expiry(state_env: dict[str, str]) -> None:
    bad = run(state_env, "paste-token", "--provider", "anthropic", stdin=CANARY)
    assert bad.exit_code == 2
    assert "should start with sk-ant-oat01-" in bad.stderr
    assert listed(state_env) == {}

    good = run(
        state_env,
        "paste-token",
        "--provider",
        "anthropic",
        "--expires-in",
        "365d",
        stdin=SETUP_TOKEN,
    )
    assert good.exit_code == 0, good.stderr
    profile = listed(state_env)["anthropic:manual"]
    assert profile["kind"] == "token"
    assert profile["billing"] == "subscription"
    assert isinstance(profile["expiresAt"], float)

    dur = run(state_env, "paste-token", "--provider", "anthropic", "--expires-in", "soon")
    assert dur.exit_code == 2
    assert "not a duration" in dur.stderr


def test_a_profile_id_must_belong_to_its_provider(state_env: dict[str, str]) -> None:
    result = run(
        state_env,
        "add",
        "--provider",
        "openai",
        "--profile-id",
        "anthropic:x",
        "--api-key-stdin",
        stdin="k",
    )
    assert result.exit_code == 2
    assert "does not belong to provider openai" in result.stderr


def test_an_undecryptable_profile_is_listed_as_unresolved(
    state_env: dict[str, str], paths: Paths
) -> None:
    run(state_env, "add", "--provider", "openai", "--api-key-stdin", stdin="key-1")
    envelope = paths.vault_dir / "profiles" / "openai:default.json"
    envelope.write_text(envelope.read_text()[:40])
    profile = listed(state_env)["openai:default"]
    assert profile["state"] == "unresolved"
    assert "truncated or corrupted" in str(profile["detail"])
    assert profile["secret"] is None


def test_a_configured_profile_without_material_is_missing(
    state_env: dict[str, str], paths: Paths
) -> None:
    paths.state_dir.mkdir(parents=True)
    paths.config_file.write_text(
        '{auth: {profiles: {"anthropic:manual": {provider: "anthropic", mode: "token"}}}}'
    )
    profile = listed(state_env)["anthropic:manual"]
    assert profile["state"] == "missing"  # as `models status` says (test_profile_states)
    assert profile["detail"] == "no credentials stored"
    assert profile["kind"] == "token"


def test_order_set_get_clear(state_env: dict[str, str], paths: Paths) -> None:
    setup(paths)
    set_ = run(
        state_env, "order", "set", "--provider", "openai", "openai:b", "openai:a", "openai:b"
    )
    assert set_.exit_code == 0, set_.stderr
    got = run(state_env, "order", "get", "--provider", "openai", "--json")
    assert json.loads(got.stdout) == {"provider": "openai", "order": ["openai:b", "openai:a"]}
    assert paths.config_file.with_name("clawgate.json.bak").read_text() == DEFAULT_CONFIG_TEXT
    # The rewritten config keeps the user's settings.
    settings = load_config(paths.config_file, {}).settings
    assert settings.agents.defaults.model.primary == "local/smollm2-135m"

    wrong = run(state_env, "order", "set", "--provider", "openai", "anthropic:x")
    assert wrong.exit_code == 2
    run(state_env, "order", "clear", "--provider", "openai")
    assert "no explicit order" in run(state_env, "order", "get", "--provider", "openai").stdout


def test_a_broken_config_is_never_rewritten(state_env: dict[str, str], paths: Paths) -> None:
    paths.state_dir.mkdir(parents=True)
    paths.config_file.write_text("{auth: {order: [}")
    result = run(state_env, "add", "--provider", "openai", "--api-key-stdin", stdin="k")
    assert result.exit_code == 78
    assert "not valid JSON5" in result.stderr
    assert paths.config_file.read_text() == "{auth: {order: [}"
    assert not (paths.vault_dir / "profiles").exists()

"""The gateway's bearer token: one of clawgate's own secrets in the vault, not a profile."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import Paths
from clawgate.secret import Secret
from clawgate.service import TOKEN_ENV, TOKEN_SECRET, gateway_token, matches
from clawgate.vault import ApiKeyMaterial, Vault

LEGACY = "clawgate:gateway"  # where older versions kept it: a profile of provider "clawgate"


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def test_the_token_is_made_once_and_kept(state_env: dict[str, str], paths: Paths) -> None:
    made = run(state_env, "gateway", "token")
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("cg-")
    assert run(state_env, "gateway", "token").stdout.strip() == token
    vault = Vault.open(paths.state_dir, state_env)
    assert vault.secret(TOKEN_SECRET) == Secret(token)
    assert vault.profile_ids() == []


def test_rotate_makes_a_new_one(state_env: dict[str, str], paths: Paths) -> None:
    old = run(state_env, "gateway", "token").stdout.strip()
    new = run(state_env, "gateway", "token", "--rotate").stdout.strip()
    assert new != old
    assert run(state_env, "gateway", "token").stdout.strip() == new


def test_the_environment_overrides_the_stored_token(
    paths: Paths, state_env: dict[str, str]
) -> None:
    vault = Vault.open(paths.state_dir, state_env)
    stored = gateway_token(vault, state_env)
    assert gateway_token(vault, {**state_env, TOKEN_ENV: "from-env"}) == Secret("from-env")
    assert gateway_token(vault, state_env) == stored


def test_a_legacy_token_profile_moves_and_keeps_its_value(
    state_env: dict[str, str], paths: Paths
) -> None:
    vault = Vault.open(paths.state_dir, state_env)
    vault.save(LEGACY, "clawgate", ApiKeyMaterial(Secret("cg-from-an-old-install")))
    legacy_file = vault.envelope_path(LEGACY)
    assert legacy_file.exists()

    printed = run(state_env, "gateway", "token")
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout.strip() == "cg-from-an-old-install"  # a running client keeps working
    assert not legacy_file.exists()
    again = Vault.open(paths.state_dir, state_env)
    assert again.secret(TOKEN_SECRET) == Secret("cg-from-an-old-install")
    assert again.profile_ids() == []
    listed = json.loads(run(state_env, "models", "auth", "list", "--json").stdout)
    assert listed["profiles"] == []


def test_a_legacy_profile_is_never_listed_before_it_moves(
    state_env: dict[str, str], paths: Paths
) -> None:
    Vault.open(paths.state_dir, state_env).save(
        LEGACY, "clawgate", ApiKeyMaterial(Secret("cg-from-an-old-install"))
    )
    listed = json.loads(run(state_env, "models", "auth", "list", "--json").stdout)
    assert listed["profiles"] == []


def test_an_unreadable_token_is_replaced(state_env: dict[str, str], paths: Paths) -> None:
    vault = Vault.open(paths.state_dir, state_env)
    old = gateway_token(vault, state_env)
    vault.secret_path(TOKEN_SECRET).write_bytes(b"garbage")
    new = gateway_token(vault, state_env)
    assert new != old
    assert gateway_token(vault, state_env) == new


def test_matches_wants_the_bearer_scheme() -> None:
    token = Secret("cg-abc")
    assert matches("Bearer cg-abc", token)
    assert matches("bearer  cg-abc ", token)
    assert not matches("Basic cg-abc", token)
    assert not matches("Bearer cg-abd", token)
    assert not matches(None, token)
    assert not matches("", token)

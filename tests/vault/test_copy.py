"""Moving the vault between backends (`clawgate state migrate`): every envelope copied byte
for byte with its ledger entry, every secret, verified in the target, the source unchanged,
and a second run copies nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import (
    ApiKeyMaterial,
    KeyResolver,
    ProfileStatus,
    TokenMaterial,
    Vault,
    copy_vault,
)
from clawgate.vault._postgres import PostgresStorage
from tests.vault.helpers import snapshot

pytestmark = pytest.mark.postgres_only
DEAD = ProfileStatus(state="needs_login", message="revoked", since=1.0, fix="log in")


def both(state: Path, url: str) -> tuple[Vault, Vault]:
    vault_dir = state / "vault"
    files = Vault(vault_dir, KeyResolver(vault_dir, {}))
    database = Vault(
        vault_dir, KeyResolver(vault_dir, {}), storage=lambda v: PostgresStorage(url, v.key)
    )
    return files, database


def test_files_to_postgres_and_back(tmp_path: Path, database_url: str) -> None:
    files, database = both(tmp_path, database_url)
    try:
        for n in range(3):  # generation 3
            files.save("openai:default", "openai", ApiKeyMaterial(Secret(f"sk-key-{n}-0123")))
        files.save("anthropic:manual", "anthropic", TokenMaterial(Secret("sk-ant-oat01-xyz")))
        files.mark("anthropic:manual", DEAD)
        files.save_secret("gateway", Secret("cg-token-0123"))
        before = snapshot(tmp_path / "vault")

        report = copy_vault(files, database)
        assert (report.profiles, report.copied, report.already) == (2, 2, 0)
        assert (report.secrets, report.secrets_copied, report.skipped) == (1, 1, [])
        assert snapshot(tmp_path / "vault") == before  # the source only read
        for profile_id in ("openai:default", "anthropic:manual"):
            assert database.storage.read(profile_id) == files.storage.read(profile_id)
            assert database.load(profile_id) == files.load(profile_id)
        assert database.load("openai:default").generation == 3
        assert database.status("anthropic:manual") == DEAD  # the ledger entry came along
        assert database.secret("gateway") == Secret("cg-token-0123")

        again = copy_vault(files, database)  # safe to run twice
        assert (again.copied, again.already, again.secrets_copied) == (0, 2, 0)

        # A newer login on the database goes back to files; files' older copy is replaced.
        database.save("openai:default", "openai", ApiKeyMaterial(Secret("sk-key-new-0123")))
        back = copy_vault(database, files)
        assert (back.copied, back.already) == (1, 1)
        assert files.load("openai:default").generation == 4
        assert files.load("openai:default").material == ApiKeyMaterial(Secret("sk-key-new-0123"))
    finally:
        database.close()


def test_an_unreadable_profile_is_named_and_not_copied(tmp_path: Path, database_url: str) -> None:
    files, database = both(tmp_path, database_url)
    try:
        files.save("openai:default", "openai", ApiKeyMaterial(Secret("sk-key-0123")))
        files.envelope_path("openai:broken").write_bytes(b"not an envelope")
        report = copy_vault(files, database)
        assert report.copied == 1
        assert len(report.skipped) == 1
        assert report.skipped[0].startswith("openai:broken: ")
        assert not database.exists("openai:broken")
    finally:
        database.close()


def test_an_empty_vault_copies_nothing_and_makes_no_key(tmp_path: Path, database_url: str) -> None:
    files, database = both(tmp_path, database_url)
    try:
        report = copy_vault(files, database)
        assert (report.profiles, report.copied, report.secrets) == (0, 0, 0)
        assert not (tmp_path / "vault" / "key").exists()
    finally:
        database.close()


def test_state_migrate_moves_the_vault_too(tmp_path: Path, database_url: str) -> None:
    state = tmp_path / "state"
    env = {"CLAWGATE_STATE_DIR": str(state), "CLAWGATE_DATABASE_URL": database_url}
    files = Vault.open(state, env)
    files.save("openai:default", "openai", ApiKeyMaterial(Secret("sk-key-0123")))
    State.open(state / "state.db").close()  # a state.db to copy from
    for run in ("first", "second"):
        result = CliRunner().invoke(
            cli, ["state", "migrate", "--to", "postgres", "--json"], obj=App(env)
        )
        assert result.exit_code == 0, result.output
        vault = json.loads(result.stdout)["vault"]
        assert (vault["copied"], vault["already"]) == ((1, 0) if run == "first" else (0, 1))
    database = Vault.open(state, env, backend="postgres")
    try:
        assert database.load("openai:default").material == ApiKeyMaterial(Secret("sk-key-0123"))
    finally:
        database.close()

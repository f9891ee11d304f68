"""StrictModes, as OpenSSH has them, for the vault: a state or vault directory others can
write, or a key file others can read, is refused with one line and the exact command that
fixes it, before anything is read or written; and what clawgate creates is private from the
moment it exists."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.fileio import ensure_private_dir
from clawgate.secret import Secret
from clawgate.state import open_db
from clawgate.vault import ApiKeyMaterial, KeyUnavailable, UnsafePath
from tests.vault.helpers import open_vault, snapshot
from tests.vault_backends import files_only, on_postgres

KEY = ApiKeyMaterial(Secret("sk-strict-modes-0123456789"))
PROFILE = "openai:default"
as_root = pytest.mark.skipif(os.getuid() != 0, reason="giving a file away takes root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def refused(call: Callable[[], object]) -> UnsafePath:
    """The call raises `UnsafePath`: one line, and one fix."""
    with pytest.raises(UnsafePath) as info:
        call()
    error = info.value
    assert error.code == "unsafe_path"
    assert "\n" not in error.message
    assert error.fix is not None
    assert "\n" not in error.fix
    return error


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


@pytest.mark.parametrize("unsafe", [0o777, 0o770, 0o757, 0o720])
def test_a_state_dir_others_can_write_gets_no_secret(state: Path, unsafe: int) -> None:
    state.chmod(unsafe)
    before = snapshot(state)
    vault = open_vault(state)
    error = refused(lambda: vault.save(PROFILE, "openai", KEY))
    assert error.fix == f"chmod 700 {state}"
    assert f"the state directory {state} is writable by" in error.message
    assert f"(mode {unsafe:o})" in error.message
    refused(lambda: vault.ensure_secret("gateway", lambda: Secret("cg-token")))
    refused(lambda: vault.mark(PROFILE, vault.status(PROFILE)))
    assert snapshot(state) == before  # no key, no envelope, no lock, no directory

    state.chmod(0o700)  # the fix it named
    assert open_vault(state).save(PROFILE, "openai", KEY).generation == 1


@pytest.mark.parametrize("unsafe", [0o777, 0o770, 0o757])
def test_a_vault_whose_dir_was_opened_to_others_is_not_read(state: Path, unsafe: int) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    open_vault(state).save_secret("gateway", Secret("cg-token-1"))
    state.chmod(unsafe)
    before = snapshot(state)
    vault = open_vault(state)
    assert refused(lambda: vault.load(PROFILE)).fix == f"chmod 700 {state}"
    refused(lambda: vault.secret("gateway"))
    refused(lambda: vault.save(PROFILE, "openai", KEY))
    assert snapshot(state) == before


ON_DISK = files_only("PostgreSQL keeps no profiles, meta or locks directory")


@pytest.mark.parametrize(
    "folder",
    [
        "vault",
        pytest.param("vault/profiles", marks=ON_DISK),
        pytest.param("vault/meta", marks=ON_DISK),
        pytest.param("vault/locks", marks=ON_DISK),
    ],
)
def test_a_vault_dir_others_can_write_is_refused(state: Path, folder: str) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    (state / folder).chmod(0o777)
    vault = open_vault(state)
    error = refused(lambda: vault.load(PROFILE))
    assert error.fix == f"chmod 700 {state / folder}"
    assert error.message.startswith(f"the vault directory {state / folder} is writable by")
    (state / folder).chmod(0o700)
    assert open_vault(state).load(PROFILE).material == KEY


def test_a_parent_others_can_write_is_refused_unless_sticky(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    state = shared / "state"
    error = refused(lambda: open_vault(state).save(PROFILE, "openai", KEY))
    assert error.message.startswith(f"a parent of the state directory {shared} is writable by")
    assert error.fix == f"chmod go-w {shared}"  # a parent is not clawgate's: only the write bits
    assert not state.exists()

    shared.chmod(0o1777)  # like /tmp: others cannot rename or remove what is ours in it
    assert open_vault(state).save(PROFILE, "openai", KEY).generation == 1
    assert mode(state) == 0o700


def test_a_state_dir_reached_through_a_link_is_judged_where_it_is(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    assert open_vault(link).save(PROFILE, "openai", KEY).generation == 1  # a chosen link is fine
    real.chmod(0o777)
    error = refused(lambda: open_vault(link).load(PROFILE))
    assert error.fix == f"chmod 700 {real}"


@pytest.mark.parametrize(
    ("unsafe", "says"),
    [
        (0o644, "can be read by its group and others (mode 644)"),
        (0o640, "can be read by its group (mode 640)"),
        (0o604, "can be read by others (mode 604)"),
        (0o620, "can be changed by its group (mode 620)"),
    ],
)
def test_a_key_file_others_can_open_is_not_used(state: Path, unsafe: int, says: str) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    key_file.chmod(unsafe)
    before = snapshot(state)
    vault = open_vault(state)
    error = refused(lambda: vault.load(PROFILE))
    assert error.message == (
        f"the vault key file {key_file} {says}: whoever can read it can decrypt every "
        "stored credential"
    )
    assert error.fix == f"chmod 600 {key_file}"
    refused(lambda: vault.save("anthropic:manual", "anthropic", KEY))
    assert snapshot(state) == before
    key_file.chmod(0o600)
    assert open_vault(state).load(PROFILE).material == KEY


def test_the_environment_key_does_not_make_an_open_dir_safe(state: Path) -> None:
    env = {"CLAWGATE_VAULT_KEY": base64.b64encode(os.urandom(32)).decode()}
    state.chmod(0o757)
    refused(lambda: open_vault(state, env).save(PROFILE, "openai", KEY))
    assert list(state.iterdir()) == []


@as_root
def test_another_users_dir_or_key_file_is_refused(state: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    os.chown(key_file, 4242, -1)
    error = refused(lambda: open_vault(state).load(PROFILE))
    assert "belongs to 4242 (uid 4242), not to root" in error.message
    assert error.fix == f"chown root {key_file}"
    os.chown(key_file, 0, -1)
    os.chown(state / "vault", 4242, -1)
    assert refused(lambda: open_vault(state).load(PROFILE)).fix == f"chown root {state / 'vault'}"


def test_the_cli_says_it_in_one_line_with_the_chmod_and_writes_nothing(state: Path) -> None:
    state.chmod(0o777)
    before = snapshot(state)
    result = CliRunner().invoke(
        cli,
        ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"],
        obj=App({"CLAWGATE_STATE_DIR": str(state)}),
        input="sk-cli-strict-0123456789\n",
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: the state directory {state} is writable by its group and others (mode 777): "
        "clawgate keeps no secrets where another user could change them",
        f"  fix: chmod 700 {state}",
    ]
    assert "Traceback" not in result.output
    assert snapshot(state) == before


def doctor(state: Path, *args: str) -> tuple[int, dict[str, dict[str, object]]]:
    run = CliRunner().invoke(
        cli, ["doctor", "--json", *args], obj=App({"CLAWGATE_STATE_DIR": str(state)})
    )
    return run.exit_code, {c["name"]: c for c in json.loads(run.stdout)["checks"]}


@files_only("doctor opens the vault of its config, whose state.backend is files here")
def test_doctor_names_the_same_refusal_and_fix_repairs_the_mode(state: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    key_file.chmod(0o644)
    with pytest.raises(UnsafePath) as refusal:
        open_vault(state).load(PROFILE)
    code, checks = doctor(state)
    assert code == 1
    assert checks["vault"]["status"] == "fail"
    assert checks["vault"]["message"] == refusal.value.message
    assert checks["vault"]["fix"] == refusal.value.fix
    code, checks = doctor(state, "--fix")
    assert code == 0
    assert checks["permissions"]["status"] == "fixed"
    assert checks[f"profile {PROFILE}"]["status"] == "ok"  # read after the repair
    assert mode(key_file) == 0o600


def test_doctor_does_not_chmod_through_a_key_link(state: Path, tmp_path: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    target = tmp_path / "public-key"
    target.write_bytes(key_file.read_bytes())
    target.chmod(0o644)
    key_file.unlink()
    key_file.symlink_to(target)
    code, checks = doctor(state, "--fix")
    assert code == 1
    assert "is a symbolic link" in str(checks["vault"]["message"])
    assert mode(target) == 0o644  # not "repaired" through the link


@pytest.fixture
def user_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.mark.parametrize("user_umask", [0o000, 0o002, 0o277], indirect=True)
def test_what_the_vault_creates_is_private_whatever_the_umask(
    tmp_path: Path, user_umask: int
) -> None:
    state = tmp_path / "a" / "b" / "state"
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    vault.save_secret("gateway", Secret("cg-token-2"))
    assert os.umask(user_umask) == user_umask  # the user's own umask is back
    for directory in (tmp_path / "a", tmp_path / "a" / "b", state, *state.rglob("*")):
        if directory.is_dir():
            assert mode(directory) == 0o700, directory
    files = [p for p in state.rglob("*") if p.is_file()]
    made = (
        {"key"} if on_postgres() else {"key", "ledger.json", "gateway.json", "secret.gateway.lock"}
    )
    assert {p.name for p in files} >= made
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def test_an_existing_directory_of_the_users_is_not_widened_or_narrowed(tmp_path: Path) -> None:
    chosen = tmp_path / "dotfiles"
    chosen.mkdir(mode=0o755)
    ensure_private_dir(chosen / "new" / "deeper", tighten=False)
    assert mode(chosen) == 0o755
    assert mode(chosen / "new") == mode(chosen / "new" / "deeper") == 0o700


def test_a_key_that_is_missing_is_still_reported_as_missing(state: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    (state / "vault" / "key").unlink()
    with pytest.raises(KeyUnavailable) as info:
        open_vault(state).load(PROFILE)
    assert not isinstance(info.value, UnsafePath)


@pytest.mark.parametrize("user_umask", [0o000, 0o277], indirect=True)
def test_state_db_and_the_directories_made_for_it_are_private(
    tmp_path: Path, user_umask: int
) -> None:
    path = tmp_path / "new" / "state" / "state.db"
    open_db(path).close()
    assert os.umask(user_umask) == user_umask
    assert mode(tmp_path / "new") == mode(path.parent) == 0o700
    assert mode(path) == 0o600
    path.chmod(0o640)  # a mode the user chose for an existing file is theirs to keep
    open_db(path).close()
    assert mode(path) == 0o640

"""No symbolic link the vault did not make is followed to a secret or a lock (O_NOFOLLOW): the
key file, an envelope, the ledger, a secret, a lock file, a vault directory. Each is refused
with a message that says so, never a traceback; a write replaces a link, never writes
through it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import filelock
import pytest

from clawgate.catalog import repair
from clawgate.fileio import UnsafeFile, read_nofollow, write_atomic
from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    LockTimeout,
    SecretUnreadable,
    Tampered,
    TokenMaterial,
    UnsafePath,
)
from clawgate.vault._strict import take
from tests.vault.helpers import open_vault, snapshot
from tests.vault_backends import files_only

KEY = ApiKeyMaterial(Secret("sk-symlinks-0123456789"))
PROFILE = "openai:default"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


def one_line(error: Exception) -> str:
    message = getattr(error, "message", "")
    assert message
    assert "\n" not in message
    return str(message)


def test_a_key_linked_to_a_world_readable_file_is_not_used(state: Path, tmp_path: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    public = tmp_path / "public" / "key"
    public.parent.mkdir()
    public.write_bytes(key_file.read_bytes())  # the real key, where anyone may read it
    public.chmod(0o644)
    key_file.unlink()
    key_file.symlink_to(public)
    with pytest.raises(UnsafePath) as info:
        open_vault(state).load(PROFILE)
    assert one_line(info.value) == (
        f"the vault key file {key_file} is a symbolic link (to {public}): clawgate opens no "
        "secret or lock through a link"
    )
    assert info.value.fix == f"remove it and put the key file itself there (mode 600): {key_file}"


def test_a_key_link_is_refused_even_to_a_private_file(state: Path, tmp_path: Path) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    key_file = state / "vault" / "key"
    private = tmp_path / "private-key"
    private.write_bytes(key_file.read_bytes())
    private.chmod(0o600)
    key_file.unlink()
    key_file.symlink_to(private)
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        open_vault(state).load(PROFILE)


def test_a_dangling_key_link_is_said_not_crashed_on(state: Path, tmp_path: Path) -> None:
    vault_dir = state / "vault"
    vault_dir.mkdir(mode=0o700)
    (vault_dir / "key").symlink_to(tmp_path / "nowhere")
    before = snapshot(state)
    vault = open_vault(state)
    for call in (
        lambda: vault.save(PROFILE, "openai", KEY),  # would make a key: must not
        lambda: vault.key(),
        lambda: vault.ensure_secret("gateway", lambda: Secret("cg-x")),
    ):
        with pytest.raises(UnsafePath) as info:
            call()
        assert f"is a symbolic link (to {tmp_path / 'nowhere'})" in one_line(info.value)
    assert snapshot(state) == before
    assert not (tmp_path / "nowhere").exists()  # nothing created through the link


ON_DISK = files_only("a link at one of the vault's own files; PostgreSQL keeps none on disk")


@ON_DISK
@pytest.mark.parametrize("loop", ["self", "pair"])
def test_a_symlink_loop_at_a_lock_file_is_refused(state: Path, loop: str) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    [lock] = (state / "vault" / "locks").glob("openai*.lock")
    lock.unlink()
    if loop == "self":
        lock.symlink_to(lock.name)
    else:
        other = lock.with_name("other.lock")
        other.symlink_to(lock.name)
        lock.symlink_to(other.name)
    for call in (
        lambda: vault.save(PROFILE, "openai", KEY),
        lambda: vault.mark(PROFILE, vault.status(PROFILE)),
        lambda: vault.delete(PROFILE),
    ):
        with pytest.raises(UnsafePath) as info:
            call()
        assert one_line(info.value).startswith(f"the lock file {lock} is a symbolic link")
        assert info.value.fix == f"rm {lock}"
    assert vault.load(PROFILE).generation == 1  # reading takes no lock: still readable
    lock.unlink()
    assert vault.save(PROFILE, "openai", KEY).generation == 2


@ON_DISK
@pytest.mark.anyio
async def test_an_async_lock_refuses_a_link_too(state: Path, tmp_path: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    [lock] = (state / "vault" / "locks").glob("openai*.lock")
    lock.unlink()
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    lock.symlink_to(victim)
    with pytest.raises(UnsafePath, match="symbolic link"):
        async with vault.alock(PROFILE):
            pass
    assert victim.read_text() == "untouched"


def test_a_link_put_at_a_lock_after_the_check_is_still_refused(tmp_path: Path) -> None:
    """filelock opens O_NOFOLLOW: the ELOOP of a link that appeared after `check_lock_path`
    is translated too, not raised as an OSError."""
    path = tmp_path / "x.lock"
    path.symlink_to(path.name)
    lock = filelock.FileLock(path, timeout=0.1, mode=0o600, thread_local=False)
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        take(lock, lambda: LockTimeout("busy"))


@ON_DISK
def test_a_linked_envelope_is_tampered_and_a_login_replaces_the_link(
    state: Path, tmp_path: Path
) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    envelope = vault.envelope_path(PROFILE)
    outside = tmp_path / "outside.json"
    outside.write_bytes(envelope.read_bytes())  # a valid envelope, elsewhere
    envelope.unlink()
    envelope.symlink_to(outside)
    fresh = open_vault(state)
    with pytest.raises(Tampered) as info:
        fresh.load(PROFILE)
    assert info.value.reason == (
        f"its envelope {envelope} is a symbolic link (to {outside}), which clawgate does not follow"
    )
    assert info.value.fix == f"rm {envelope}, then log in again: {repair('openai')}"
    assert fresh.generation(PROFILE) is None  # the staleness check reads no link either
    before = outside.read_bytes()
    saved = fresh.save(PROFILE, "openai", TokenMaterial(Secret("new")))
    assert saved.generation == 2  # the ledger still knew generation 1
    assert not envelope.is_symlink()
    assert outside.read_bytes() == before  # replaced the link, never wrote through it
    assert open_vault(state).load(PROFILE).material == TokenMaterial(Secret("new"))


@ON_DISK
def test_a_linked_envelope_during_an_update_is_not_taken_for_none(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    envelope = vault.envelope_path(PROFILE)
    envelope.unlink()
    envelope.symlink_to("nowhere.json")  # dangling: exists() would say "no profile"
    with pytest.raises(Tampered, match="symbolic link"):
        vault.update(PROFILE, "openai", lambda current: KEY)


@ON_DISK
def test_a_linked_ledger_is_not_followed(state: Path, tmp_path: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    ledger = state / "vault" / "meta" / "ledger.json"
    elsewhere = tmp_path / "ledger.json"
    elsewhere.write_bytes(ledger.read_bytes())
    ledger.unlink()
    ledger.symlink_to(elsewhere)
    with pytest.raises(Tampered) as info:
        open_vault(state).load(PROFILE)
    assert "is a symbolic link" in info.value.reason
    assert info.value.fix is not None
    assert info.value.fix.endswith(f"rm {ledger}")


@ON_DISK
def test_a_linked_secret_is_unreadable_and_replaced_not_written_through(
    state: Path, tmp_path: Path
) -> None:
    vault = open_vault(state)
    vault.save_secret("gateway", Secret("cg-token-1"))
    path = vault.secret_path("gateway")
    outside = tmp_path / "token.json"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(SecretUnreadable, match="symbolic link"):
        open_vault(state).secret("gateway")
    before = outside.read_bytes()
    open_vault(state).save_secret("gateway", Secret("cg-token-2"))
    assert outside.read_bytes() == before
    assert open_vault(state).secret("gateway") == Secret("cg-token-2")


@pytest.mark.parametrize(
    "folder",
    [
        "vault",
        pytest.param("vault/profiles", marks=ON_DISK),
        pytest.param("vault/locks", marks=ON_DISK),
    ],
)
def test_a_vault_directory_that_is_a_link_is_refused(
    state: Path, tmp_path: Path, folder: str
) -> None:
    open_vault(state).save(PROFILE, "openai", KEY)
    moved = tmp_path / "moved"
    (state / folder).rename(moved)
    (state / folder).symlink_to(moved)
    with pytest.raises(UnsafePath) as info:
        open_vault(state).save(PROFILE, "openai", KEY)
    assert one_line(info.value) == (
        f"the vault directory {state / folder} is a symbolic link: clawgate follows no link "
        "it did not make to where it keeps secrets"
    )


@ON_DISK
def test_a_fifo_at_an_envelope_is_refused_without_waiting(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", KEY)
    envelope = vault.envelope_path(PROFILE)
    envelope.unlink()
    os.mkfifo(envelope, 0o600)
    with pytest.raises(Tampered, match="is a FIFO"):
        vault.load(PROFILE)


def test_read_nofollow_and_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"outside")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UnsafeFile) as info:
        read_nofollow(link)
    assert info.value.errno == errno.ELOOP
    assert info.value.what == f"a symbolic link (to {target})"
    with pytest.raises(FileNotFoundError):
        read_nofollow(tmp_path / "absent")
    write_atomic(link, b"inside")
    assert not link.is_symlink()
    assert read_nofollow(link)[0] == b"inside"
    assert target.read_bytes() == b"outside"

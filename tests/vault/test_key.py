from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from clawgate.vault import KeyResolver, KeySource, KeyUnavailable
from clawgate.vault._key import KEYRING_SERVICE


class MemoryKeyring:
    """Stands in for the OS keyring (Secret Service / Keychain), which cannot run here."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password


class BrokenKeyring(MemoryKeyring):
    """Like a headless Linux box: every call raises."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("No recommended backend was available")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("No recommended backend was available")


class HangingKeyring(MemoryKeyring):
    """A keyring whose daemon never answers (a locked D-Bus session)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait()
        return None


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_env_key_comes_first(tmp_path: Path) -> None:
    key = os.urandom(32)
    ring = MemoryKeyring()
    resolver = KeyResolver(tmp_path / "vault", {"CLAWGATE_VAULT_KEY": b64(key)}, ring)
    data_key = resolver.resolve(create=True)
    assert (data_key.key, data_key.source) == (key, KeySource.ENV)
    assert not (tmp_path / "vault" / "key").exists()
    assert ring.entries == {}
    assert b64(key) not in repr(data_key)


@pytest.mark.parametrize("raw", ["not base64!", b64(b"short"), ""])
def test_a_malformed_env_key_is_a_clear_error(tmp_path: Path, raw: str) -> None:
    resolver = KeyResolver(tmp_path / "vault", {"CLAWGATE_VAULT_KEY": raw})
    with pytest.raises(KeyUnavailable, match="CLAWGATE_VAULT_KEY does not hold a vault key"):
        resolver.resolve(create=True)


def test_a_working_keyring_holds_a_new_key(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    created = KeyResolver(tmp_path / "vault", {}, ring).resolve(create=True)
    assert created.source is KeySource.KEYRING
    assert not (tmp_path / "vault" / "key").exists()
    ((service, username),) = ring.entries
    assert service == KEYRING_SERVICE
    assert str((tmp_path / "vault").resolve()) in username
    again = KeyResolver(tmp_path / "vault", {}, ring).resolve(create=False)
    assert again.key == created.key


def test_a_broken_keyring_falls_back_to_the_key_file(tmp_path: Path) -> None:
    key = KeyResolver(tmp_path / "vault", {}, BrokenKeyring()).resolve(create=True)
    assert key.source is KeySource.FILE
    key_file = tmp_path / "vault" / "key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert base64.b64decode(key_file.read_text()) == key.key


def test_a_hanging_keyring_counts_as_unavailable(tmp_path: Path) -> None:
    ring = HangingKeyring()
    try:
        resolver = KeyResolver(tmp_path / "vault", {}, ring, keyring_timeout=0.05)
        assert resolver.resolve(create=True).source is KeySource.FILE
    finally:
        ring.release.set()


def test_without_create_a_missing_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable) as info:
        KeyResolver(tmp_path / "vault", {}).resolve(create=False)
    assert info.value.fix is not None
    assert "CLAWGATE_VAULT_KEY" in info.value.fix


def test_an_existing_key_file_is_used(tmp_path: Path) -> None:
    first = KeyResolver(tmp_path / "vault", {}).resolve(create=True)
    second = KeyResolver(tmp_path / "vault", {}, MemoryKeyring()).resolve(create=True)
    assert second.key == first.key
    assert second.source is KeySource.FILE


def test_a_corrupt_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    KeyResolver(tmp_path / "vault", {}).resolve(create=True)
    key_file = tmp_path / "vault" / "key"
    key_file.write_text("garbage")
    with pytest.raises(KeyUnavailable, match="does not hold a vault key"):
        KeyResolver(tmp_path / "vault", {}).resolve(create=True)
    assert key_file.read_text() == "garbage"


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        keys.append(KeyResolver(tmp_path / "vault", {}).resolve(create=True).key)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1

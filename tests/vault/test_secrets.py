"""clawgate's own secrets in the vault: apart from the profiles, sealed to their name."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    KeyUnavailable,
    MaterialError,
    SecretUnreadable,
    TokenMaterial,
)
from tests.canary import CANARY
from tests.vault.helpers import open_vault
from tests.vault_backends import on_postgres, put_raw, put_raw_secret, raw, raw_secret

LEGACY = "clawgate:gateway"  # where older versions kept the gateway's token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_secret_round_trips_and_never_shows_in_the_file(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    assert vault.secret("gateway") is None
    vault.save_secret("gateway", Secret(CANARY))
    loaded = open_vault(tmp_path).secret("gateway")  # as another process would
    assert loaded == Secret(CANARY)
    assert loaded is not None
    assert loaded.reveal() == CANARY
    assert CANARY not in repr(loaded)
    assert CANARY not in raw_secret(vault, "gateway").decode()
    vault.save_secret("gateway", Secret("second"))
    assert open_vault(tmp_path).secret("gateway") == Secret("second")


def test_reading_a_missing_secret_writes_nothing(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    assert vault.secret("gateway") is None
    assert not vault.dir.exists()
    if on_postgres():
        assert vault.storage.read_secret("gateway") is None


def test_secret_files_are_private(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    if on_postgres():  # the state directory holds the key and nothing else of the vault
        assert sorted(p.name for p in vault.dir.iterdir()) == ["key"]
        assert mode(vault.dir / "key") == 0o600
        return
    path = vault.secret_path("gateway")
    assert path == vault.dir / "secrets" / "gateway.json"
    assert mode(vault.dir) == 0o700
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["gateway.json"]  # no temp left behind


def test_a_secret_is_not_a_profile(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    assert vault.profile_ids() == ["openai:default"]


def test_an_edited_secret_does_not_decrypt(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    fields = json.loads(raw_secret(vault, "gateway"))
    ct = bytearray(base64.b64decode(fields["ct"]))
    ct[0] ^= 1
    fields["ct"] = base64.b64encode(bytes(ct)).decode()
    put_raw_secret(vault, "gateway", json.dumps(fields).encode())
    with pytest.raises(SecretUnreadable, match="does not decrypt") as info:
        vault.secret("gateway")
    assert info.value.code == "unresolved"
    assert info.value.fix is not None


def test_a_profile_envelope_copied_over_a_secret_does_not_open(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    profile = json.loads(raw(vault, "openai:default"))
    put_raw_secret(vault, "gateway", json.dumps(profile).encode())
    with pytest.raises(SecretUnreadable, match="not a secret's envelope"):
        vault.secret("gateway")
    # Even dressed up as a secret's envelope, its AAD is a profile's.
    dressed = {k: v for k, v in profile.items() if k not in ("profile", "provider", "generation")}
    put_raw_secret(vault, "gateway", json.dumps({**dressed, "secret": "gateway"}).encode())
    with pytest.raises(SecretUnreadable, match="does not decrypt"):
        vault.secret("gateway")


def test_a_secret_copied_onto_another_name_does_not_open(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    raw = raw_secret(vault, "gateway")
    put_raw_secret(vault, "other", raw)
    with pytest.raises(SecretUnreadable, match="belongs to secret 'gateway'"):
        vault.secret("other")
    fields = json.loads(raw)
    put_raw_secret(vault, "other", json.dumps({**fields, "secret": "other"}).encode())
    with pytest.raises(SecretUnreadable, match="does not decrypt"):
        vault.secret("other")


def test_a_wrong_key_is_said_and_nothing_changes(tmp_path: Path) -> None:
    open_vault(tmp_path).save_secret("gateway", Secret("token"))
    other_key = base64.b64encode(os.urandom(32)).decode()
    vault = open_vault(tmp_path, {"CLAWGATE_VAULT_KEY": other_key})
    before = raw_secret(vault, "gateway")
    with pytest.raises(SecretUnreadable, match="another vault key"):
        vault.secret("gateway")
    assert raw_secret(vault, "gateway") == before


def test_a_lost_key_is_not_replaced_while_a_secret_exists(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save_secret("gateway", Secret("token"))
    (vault.dir / "key").unlink()
    fresh = open_vault(tmp_path)
    with pytest.raises(KeyUnavailable):
        fresh.save("anthropic:manual", "anthropic", TokenMaterial(Secret("t")))
    assert not (vault.dir / "key").exists()


def test_ensure_stores_once(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    made = vault.ensure_secret("gateway", lambda: Secret("first"))
    again = open_vault(tmp_path).ensure_secret("gateway", lambda: Secret("second"))
    assert made == again == Secret("first")


def test_empty_secrets_and_bad_names_are_refused(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    with pytest.raises(MaterialError):
        vault.save_secret("gateway", Secret(" "))
    for name in ("", "../key", "Gateway", "a/b"):
        with pytest.raises(ValueError, match="not a secret name"):
            vault.secret(name)
    assert vault.secret("gateway") is None


def test_the_legacy_profile_moves_on_first_read(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save(LEGACY, "clawgate", ApiKeyMaterial(Secret("cg-old-token")))
    assert vault.profile_ids() == []  # never listed, even before it moves
    assert vault.secret("gateway") == Secret("cg-old-token")
    assert not vault.exists(LEGACY)
    assert open_vault(tmp_path).secret("gateway") == Secret("cg-old-token")


def test_a_secret_already_moved_wins_over_a_leftover_legacy_copy(tmp_path: Path) -> None:
    # A crash between writing the secret and deleting the old profile leaves both.
    vault = open_vault(tmp_path)
    vault.save(LEGACY, "clawgate", ApiKeyMaterial(Secret("cg-old-token")))
    legacy = raw(vault, LEGACY)
    vault.save_secret("gateway", Secret("cg-new-token"))
    assert not vault.exists(LEGACY)  # storing the secret drops the old copy
    put_raw(vault, LEGACY, legacy)
    assert vault.secret("gateway") == Secret("cg-new-token")
    assert not vault.exists(LEGACY)


def test_an_unreadable_legacy_profile_is_an_unreadable_secret(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save(LEGACY, "clawgate", ApiKeyMaterial(Secret("cg-old-token")))
    put_raw(vault, LEGACY, b"garbage")
    with pytest.raises(SecretUnreadable, match=f"profile {LEGACY}"):
        vault.secret("gateway")
    vault.save_secret("gateway", Secret("cg-new-token"))
    assert not vault.exists(LEGACY)
    assert vault.secret("gateway") == Secret("cg-new-token")

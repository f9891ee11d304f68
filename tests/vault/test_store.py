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
    BadProfileId,
    KeySource,
    KeyUnavailable,
    Kind,
    MaterialError,
    NoMaterial,
    OAuthMaterial,
    ProfileStatus,
    Tampered,
    TokenMaterial,
    Unresolved,
)
from tests.canary import CANARY
from tests.vault.helpers import open_vault
from tests.vault_backends import on_postgres, put_raw, raw

OAUTH = OAuthMaterial(
    access=Secret("eyJhbGciOi.access.token-value"),
    refresh=Secret("rt_refresh-token-value-123"),
    expires_at=1_800_864_000.0,
    id_token=Secret("eyJ.id.token"),
    account_id="acct-42",
    email="me@example.com",
    plan="plus",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("profile_id", "material"),
    [
        ("openai-codex:me@example.com", OAUTH),
        ("anthropic:manual", TokenMaterial(Secret("sk-ant-oat01-xyz"), expires_at=1.9e9)),
        ("openai:default", ApiKeyMaterial(Secret(CANARY))),
        ("local:default", NoMaterial()),
    ],
)
def test_every_kind_round_trips(tmp_path: Path, profile_id: str, material: object) -> None:
    vault = open_vault(tmp_path)
    provider = profile_id.split(":")[0]
    saved = vault.save(profile_id, provider, material)  # type: ignore[arg-type]
    loaded = open_vault(tmp_path).load(profile_id)
    assert loaded.material == material
    assert loaded.provider == provider
    assert loaded.generation == saved.generation == 1
    assert loaded.kind is type(material).kind  # type: ignore[attr-defined]
    assert loaded.status == ProfileStatus()
    assert CANARY not in repr(loaded)
    assert CANARY not in raw(vault, profile_id).decode()


def test_billing_kinds() -> None:
    assert Kind.OAUTH.billing == "subscription"
    assert Kind.TOKEN.billing == "subscription"
    assert Kind.API_KEY.billing == "metered"
    assert Kind.NONE.billing == "free"


def test_generation_counts_every_change(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    for n in range(1, 4):
        assert (
            vault.save("openai:default", "openai", ApiKeyMaterial(Secret(f"k{n}"))).generation == n
        )
    assert vault.generation("openai:default") == 3
    assert vault.generation("openai:other") is None


def test_files_are_private(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    if on_postgres():  # the state directory holds the key and nothing else of the vault
        assert sorted(p.name for p in vault.dir.iterdir()) == ["key"]
        assert mode(vault.dir / "key") == 0o600
        assert vault.key().source is KeySource.FILE
        return
    assert mode(vault.dir) == 0o700
    for folder in ("profiles", "meta", "locks"):
        assert mode(vault.dir / folder) == 0o700
    assert mode(vault.dir / "key") == 0o600
    assert mode(vault.envelope_path("openai:default")) == 0o600
    assert all(mode(p) == 0o600 for p in (vault.dir / "meta").iterdir())
    assert vault.key().source is KeySource.FILE


def test_an_envelope_renamed_onto_another_profile_is_tampered(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:work", "openai", ApiKeyMaterial(Secret("work-key")))
    vault.save("openai:home", "openai", ApiKeyMaterial(Secret("home-key")))
    put_raw(vault, "openai:home", raw(vault, "openai:work"))
    with pytest.raises(Tampered, match="belongs to profile 'openai:work'"):
        vault.load("openai:home")


def test_an_envelope_with_its_profile_field_edited_too_is_tampered(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:work", "openai", ApiKeyMaterial(Secret("work-key")))
    fields = json.loads(raw(vault, "openai:work"))
    fields["profile"] = "openai:home"
    put_raw(vault, "openai:home", json.dumps(fields).encode())
    with pytest.raises(Tampered, match="does not decrypt"):
        vault.load("openai:home")


def test_a_rolled_back_envelope_is_tampered(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("old")))
    old_copy = raw(vault, "openai:default")
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("new")))
    put_raw(vault, "openai:default", old_copy)
    with pytest.raises(Tampered, match="generation 1, older than generation 2"):
        vault.load("openai:default")


def test_an_edited_generation_is_tampered(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("old")))
    old = json.loads(raw(vault, "openai:default"))
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("new")))
    old["generation"] = 5  # lift the rolled-back copy over the high-water mark
    put_raw(vault, "openai:default", json.dumps(old).encode())
    with pytest.raises(Tampered, match="does not decrypt"):
        vault.load("openai:default")


def test_a_deleted_profile_keeps_its_high_water_mark(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("a")))
    copy = raw(vault, "openai:default")
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("b")))
    assert vault.delete("openai:default")
    assert vault.profile_ids() == []
    put_raw(vault, "openai:default", copy)
    with pytest.raises(Tampered):
        vault.load("openai:default")
    assert vault.save("openai:default", "openai", ApiKeyMaterial(Secret("c"))).generation == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: b"",
        lambda raw: b"\x00\xff garbage",
        lambda raw: raw.replace(b'"generation":1', b'"generation":"1"'),
    ],
    ids=["truncated", "empty", "garbage", "wrong-type"],
)
def test_a_corrupt_envelope_is_unresolved_and_left_alone(tmp_path: Path, damage: object) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    broken = damage(raw(vault, "openai:default"))  # type: ignore[operator]
    put_raw(vault, "openai:default", broken)
    with pytest.raises(Unresolved) as info:
        vault.load("openai:default")
    assert "truncated or corrupted" in info.value.message
    assert info.value.fix is not None
    assert raw(vault, "openai:default") == broken


def test_a_wrong_key_is_unresolved_not_tampered_and_nothing_changes(tmp_path: Path) -> None:
    open_vault(tmp_path).save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    other_key = base64.b64encode(os.urandom(32)).decode()
    vault = open_vault(tmp_path, {"CLAWGATE_VAULT_KEY": other_key})
    before = raw(vault, "openai:default")
    with pytest.raises(Unresolved) as info:
        vault.load("openai:default")
    assert not isinstance(info.value, Tampered)
    assert "encrypted with another vault key" in info.value.message
    assert "from env" in info.value.message
    assert raw(vault, "openai:default") == before


def test_a_lost_key_is_not_replaced_while_envelopes_exist(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("k")))
    (vault.dir / "key").unlink()
    fresh = open_vault(tmp_path)
    with pytest.raises(KeyUnavailable, match="no vault key"):
        fresh.load("openai:default")
    with pytest.raises(KeyUnavailable):
        fresh.save("anthropic:manual", "anthropic", TokenMaterial(Secret("t")))
    assert not (vault.dir / "key").exists()
    assert fresh.profile_ids() == ["openai:default"]


def test_a_missing_profile_is_unresolved_with_the_login_command(tmp_path: Path) -> None:
    with pytest.raises(Unresolved) as info:
        open_vault(tmp_path).load("anthropic:manual")
    assert info.value.reason == "no credentials stored"
    assert info.value.fix == "log in: clawgate models auth login --provider anthropic"


def test_status_is_durable_and_cleared_by_new_material(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("openai-codex:me", "openai-codex", OAUTH)
    dead = ProfileStatus(
        state="needs_login",
        message="Your refresh token has already been used",
        since=1_800_000_000.0,
        fix="clawgate models auth login --provider openai-codex",
        last_error="auth_dead",
    )
    vault.mark("openai-codex:me", dead)
    reopened = open_vault(tmp_path)
    assert reopened.load("openai-codex:me").status == dead
    assert reopened.load("openai-codex:me").material == OAUTH  # material untouched
    reopened.save("openai-codex:me", "openai-codex", OAUTH)
    assert reopened.status("openai-codex:me") == ProfileStatus()


def test_update_sees_the_newest_material(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    vault.save("anthropic:manual", "anthropic", TokenMaterial(Secret("1")))
    stored = vault.update(
        "anthropic:manual",
        "anthropic",
        lambda current: TokenMaterial(Secret(str(int(current.material.token.reveal()) + 1))),  # type: ignore[union-attr]
    )
    assert stored.material == TokenMaterial(Secret("2"))


@pytest.mark.parametrize("bad", ["", "noprovider", "Upper:x", "a:b/c", "a:", ":b", "a:b\nc"])
def test_profile_ids_are_checked(tmp_path: Path, bad: str) -> None:
    vault = open_vault(tmp_path)
    with pytest.raises(BadProfileId):
        vault.load(bad)
    with pytest.raises(BadProfileId):
        vault.save(bad, "openai", ApiKeyMaterial(Secret("k")))


def test_odd_but_valid_profile_ids_map_to_safe_file_names(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    for profile_id in ("openai-codex:me@example.com", "oidc:..", "work-llm:a b%c"):
        vault.save(profile_id, profile_id.split(":")[0], ApiKeyMaterial(Secret("k")))
        if not on_postgres():
            assert vault.envelope_path(profile_id).parent == vault.dir / "profiles"
        assert vault.load(profile_id).material == ApiKeyMaterial(Secret("k"))
    assert vault.profile_ids() == ["oidc:..", "openai-codex:me@example.com", "work-llm:a b%c"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: ApiKeyMaterial(Secret("  ")),
        lambda: TokenMaterial(Secret("t"), expires_at=0),
        lambda: OAuthMaterial(access=Secret(""), refresh=None, expires_at=None),
        lambda: OAuthMaterial(access=Secret("a"), refresh=Secret("r"), expires_at=float("nan")),
    ],
)
def test_placeholder_or_empty_material_is_refused(build: object) -> None:
    with pytest.raises(MaterialError):
        build()  # type: ignore[operator]


def test_secret_never_shows_itself() -> None:
    secret = Secret(CANARY)
    assert CANARY not in repr(secret)
    assert CANARY not in str(secret)
    assert CANARY not in f"{secret}"
    assert str(secret) == f"…{CANARY[-4:]}"
    assert str(Secret("short")) == "…"
    assert secret == Secret(CANARY)
    assert secret.reveal() == CANARY

"""Rollback detection that holds when every file of a profile is put back: the high-water
generation lives in the vault's authenticated ledger, not beside the envelope; a ledger that
does not authenticate is reported, never used; an older vault's unauthenticated meta files
are accepted once and moved into the ledger. docs/security.md says what is and is not
detected."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from clawgate.secret import Secret
from clawgate.vault import (
    ApiKeyMaterial,
    ProfileStatus,
    Tampered,
    TokenMaterial,
    Unresolved,
    Vault,
)
from clawgate.vault._envelope import seal
from clawgate.vault._material import dump_material
from tests.vault.helpers import open_vault
from tests.vault_backends import (
    files_only,
    ledger_discard,
    ledger_where,
    on_postgres,
    put_raw,
    put_raw_ledger,
    raw,
    raw_ledger,
    remove_ledger,
)

PROFILE = "openai:default"
OTHER = "anthropic:manual"
OLD = ApiKeyMaterial(Secret("sk-old-leaked-0123456789"))
NEW = ApiKeyMaterial(Secret("sk-new-rotated-0123456789"))
DEAD = ProfileStatus(
    state="needs_login",
    message="refresh token revoked",
    since=1_800_000_000.0,
    fix="clawgate models auth login --provider openai",
    last_error="auth_dead",
)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


def ledger(state: Path) -> Path:
    return state / "vault" / "meta" / "ledger.json"


def files_of(vault: Vault, profile_id: str) -> dict[Path | str, bytes]:
    """Every file in the vault that is the profile's own (on PostgreSQL: its row): what an
    attacker (or a restore of one profile) would put back."""
    if on_postgres():
        return {profile_id: raw(vault, profile_id)}
    stem = quote(profile_id, safe="@:+")
    return {p: p.read_bytes() for p in vault.dir.rglob(f"{stem}.*") if p.is_file()}


def put_back(vault: Vault, copies: dict[Path | str, bytes]) -> None:
    for where, data in copies.items():
        if isinstance(where, str):
            put_raw(vault, where, data)
        else:
            where.write_bytes(data)


def test_every_file_of_a_profile_put_back_is_a_rollback(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    old_copies = files_of(vault, PROFILE)
    vault.save(PROFILE, "openai", NEW)
    put_back(vault, old_copies)
    if not on_postgres():
        assert vault.envelope_path(PROFILE) in old_copies
        # An older version's meta file for it too, saying generation 1, as a copy would.
        legacy = vault.dir / "meta" / f"{quote(PROFILE, safe='@:+')}.json"
        legacy.write_text('{"v":1,"highWater":1,"status":{"state":"ok"}}')
    with pytest.raises(Tampered) as info:
        open_vault(state).load(PROFILE)
    assert info.value.reason == (
        "the envelope is generation 1, older than generation 2 already seen (restored from "
        "an old copy?)"
    )


def test_a_lowered_generation_in_the_ledger_does_not_authenticate(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    old_envelope = raw(vault, PROFILE)
    vault.save(PROFILE, "openai", NEW)
    document = json.loads(raw_ledger(vault))
    document["profiles"][PROFILE]["highWater"] = 1  # the mac left as it was
    put_raw_ledger(vault, json.dumps(document).encode())
    put_raw(vault, PROFILE, old_envelope)
    fresh = open_vault(state)
    with pytest.raises(Tampered) as info:
        fresh.load(PROFILE)
    where = ledger_where(vault)
    assert info.value.reason == (
        f"the vault's ledger {where} does not authenticate (edited, or from another vault)"
    )
    assert info.value.fix == (
        f"restore {where} from a backup, or remove it to accept every envelope as it "
        f"is now: {ledger_discard(vault)}"
    )
    with pytest.raises(Tampered):  # nor is it written over, which would launder the edit
        fresh.save(PROFILE, "openai", NEW)
    with pytest.raises(Tampered):
        fresh.status(PROFILE)


def test_a_cleared_status_in_the_ledger_does_not_authenticate(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    vault.mark(PROFILE, DEAD)
    document = json.loads(raw_ledger(vault))
    document["profiles"][PROFILE]["status"] = {"state": "ok"}
    put_raw_ledger(vault, json.dumps(document).encode())
    with pytest.raises(Tampered, match="does not authenticate"):
        open_vault(state).load(PROFILE)


@pytest.mark.parametrize(
    "damage",
    [b"", b"{", b"[]", b'{"v":1}', b"\xff\xfe", b'{"v":1,"kid":"KID","mac":"\\u00e9"}'],
)
def test_a_damaged_ledger_is_reported_and_removing_it_is_the_way_out(
    state: Path, damage: bytes
) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    put_raw_ledger(vault, damage.replace(b"KID", vault.key().key_id.encode()))
    with pytest.raises(Tampered):
        open_vault(state).load(PROFILE)
    remove_ledger(vault)  # the fix it names
    assert open_vault(state).load(PROFILE).material == OLD
    assert open_vault(state).save(PROFILE, "openai", NEW).generation == 2


def test_a_ledger_from_another_key_is_unresolved_not_tampered(state: Path, tmp_path: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    other = tmp_path / "other"
    if on_postgres():  # another vault: another key, another database
        document = json.loads(raw_ledger(vault))
        env = {"CLAWGATE_VAULT_KEY": base64.b64encode(os.urandom(32)).decode()}
        other_key = open_vault(other, env).key()
        document["kid"] = other_key.key_id
        put_raw_ledger(vault, json.dumps(document).encode())
    else:
        open_vault(other).save(PROFILE, "openai", NEW)  # another vault, another key
        shutil.copy(ledger(other), ledger(state))
    with pytest.raises(Unresolved) as info:
        open_vault(state).load(PROFILE)
    assert not isinstance(info.value, Tampered)
    assert "was written with another vault key" in info.value.reason


OLDER = files_only("older versions kept per-profile meta files; they had no PostgreSQL backend")


def write_old_vault(state: Path, profiles: dict[str, tuple[int, ProfileStatus]]) -> Vault:
    """A vault as an older clawgate left it: each envelope with its own unauthenticated
    ``meta/<id>.json``, and no ledger."""
    vault = open_vault(state)
    key = vault.key(create=True)
    for profile_id, (generation, status) in profiles.items():
        name = quote(profile_id, safe="@:+") + ".json"
        material = TokenMaterial(Secret(f"token-{generation}"))
        envelope = seal(key, profile_id, "anthropic", generation, dump_material(material))
        for folder, data in (
            ("profiles", envelope),
            ("meta", json.dumps({"v": 1, "highWater": generation, "status": status.to_json()})),
        ):
            (vault.dir / folder).mkdir(mode=0o700, exist_ok=True)
            path = vault.dir / folder / name
            path.write_bytes(data if isinstance(data, bytes) else data.encode())
            path.chmod(0o600)
    return vault


@OLDER
def test_an_older_vaults_meta_is_accepted_once_and_moved_into_the_ledger(state: Path) -> None:
    old = write_old_vault(state, {OTHER: (3, DEAD), "anthropic:work": (7, ProfileStatus())})
    old_files = {p: p.read_bytes() for p in (old.dir / "profiles").iterdir()}
    old_files |= {p: p.read_bytes() for p in (old.dir / "meta").iterdir()}
    assert not ledger(state).exists()

    stored = open_vault(state).load(OTHER)  # the first read upgrades
    assert (stored.generation, stored.status) == (3, DEAD)
    assert [p.name for p in (old.dir / "meta").iterdir()] == ["ledger.json"]
    document = json.loads(ledger(state).read_text())
    assert document["profiles"][OTHER]["highWater"] == 3
    assert document["profiles"]["anthropic:work"]["highWater"] == 7
    assert open_vault(state).status("anthropic:work") == ProfileStatus()

    # Every profile moves on; then both its files are put back as they were before.
    for profile_id in (OTHER, "anthropic:work"):
        open_vault(state).save(profile_id, "anthropic", TokenMaterial(Secret("newer")))
    put_back(old, dict(old_files))
    for profile_id in (OTHER, "anthropic:work"):
        with pytest.raises(Tampered, match="older than generation"):
            open_vault(state).load(profile_id)


@OLDER
def test_an_older_vaults_meta_already_ahead_of_its_envelope_is_a_rollback(state: Path) -> None:
    old = write_old_vault(state, {OTHER: (2, ProfileStatus())})
    key = old.key()
    stale = seal(key, OTHER, "anthropic", 1, dump_material(TokenMaterial(Secret("t"))))
    put_raw(old, OTHER, stale)
    with pytest.raises(Tampered, match="generation 1, older than generation 2"):
        open_vault(state).load(OTHER)


@OLDER
def test_the_first_write_to_an_older_vault_upgrades_it_too(state: Path) -> None:
    write_old_vault(state, {OTHER: (4, DEAD)})
    vault = open_vault(state)
    vault.mark(OTHER, ProfileStatus())
    assert vault.save(OTHER, "anthropic", TokenMaterial(Secret("t"))).generation == 5
    assert not (vault.dir / "meta" / f"{quote(OTHER, safe='@:+')}.json").exists()


def test_a_status_written_by_another_process_is_seen(state: Path) -> None:
    gateway = open_vault(state)
    gateway.save(PROFILE, "openai", OLD)
    assert gateway.status(PROFILE) == ProfileStatus()  # read and held
    open_vault(state).mark(PROFILE, DEAD)  # the CLI, elsewhere
    assert gateway.status(PROFILE) == DEAD


def test_a_deleted_profile_put_back_is_a_rollback(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    copies = files_of(vault, PROFILE)
    vault.save(PROFILE, "openai", NEW)
    vault.delete(PROFILE)
    put_back(vault, copies)
    with pytest.raises(Tampered, match="older than generation 2"):
        open_vault(state).load(PROFILE)


def test_what_is_not_detected_the_whole_vault_put_back(state: Path, tmp_path: Path) -> None:
    """The documented limit (docs/security.md): the ledger put back with the envelopes is the
    vault's own memory gone back in time; nothing in the state directory can tell it from a
    restore from backup."""
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    if on_postgres():  # the database restored: its envelope row and its ledger row
        envelope, document = raw(vault, PROFILE), raw_ledger(vault)
        vault.save(PROFILE, "openai", NEW)
        put_raw(vault, PROFILE, envelope)
        put_raw_ledger(vault, document)
        # A process that saw generation 2 still knows better (docs/security.md) ...
        with pytest.raises(Tampered, match="put back to an older copy"):
            vault.load(PROFILE)
        # ... one started after the restore cannot tell.
        assert open_vault(state).load(PROFILE).material == OLD
        return
    backup = tmp_path / "backup"
    shutil.copytree(vault.dir, backup)
    vault.save(PROFILE, "openai", NEW)
    shutil.rmtree(vault.dir)
    shutil.copytree(backup, vault.dir)
    assert open_vault(state).load(PROFILE).material == OLD


def test_the_ledger_key_is_derived_not_the_data_key(state: Path) -> None:
    vault = open_vault(state)
    vault.save(PROFILE, "openai", OLD)
    key = vault.key()
    assert len(key.ledger_key) == 32
    assert key.ledger_key != key.key
    assert base64.b64encode(key.key).decode() not in raw_ledger(vault).decode()
    assert key.key not in raw_ledger(vault)
    if not on_postgres():
        assert oct(os.stat(ledger(state)).st_mode & 0o777) == "0o600"


def test_a_save_landing_between_a_loads_two_reads_is_not_a_rollback(state: Path) -> None:
    """A load reads the ledger entry and the envelope, two reads; another process saving the
    profile between them (a refresh elsewhere) is not a rollback, whichever it read first."""
    reader, writer = open_vault(state), open_vault(state)
    writer.save(PROFILE, "openai", OLD)
    reads = {"n": 0}

    def between(read):  # type: ignore[no-untyped-def]
        def wrapped(profile_id):  # type: ignore[no-untyped-def]
            result = read(profile_id)
            reads["n"] += 1
            if reads["n"] == 1:  # after the first of the two reads, before the second
                writer.save(PROFILE, "openai", NEW)
            return result

        return wrapped

    storage = reader.storage
    storage.read = between(storage.read)  # type: ignore[method-assign]
    storage.entry = between(storage.entry)  # type: ignore[method-assign]
    loaded = reader.load(PROFILE)
    assert reads["n"] == 2
    assert loaded.generation == 2
    assert loaded.material == NEW

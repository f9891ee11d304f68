"""One classification of a damaged profile: `models auth list` and `models status` (and so
`doctor` and the gateway's status, which read the same function) say the same thing about
each real corruption of an envelope."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.config import Paths
from clawgate.vault import ProfileStatus, Vault

PROFILE = "openai:default"


def _flip_ct(raw: bytes) -> bytes:
    """One bit of the ciphertext flipped: still an envelope, no longer authentic."""
    envelope = json.loads(raw)
    ct = bytearray(base64.b64decode(envelope["ct"]))
    ct[0] ^= 0x01
    envelope["ct"] = base64.b64encode(bytes(ct)).decode()
    return json.dumps(envelope).encode()


def _other_profile(raw: bytes) -> bytes:
    envelope = json.loads(raw)
    envelope["profile"] = "openai:other"
    return json.dumps(envelope).encode()


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (lambda raw: raw[: len(raw) // 2], "unresolved"),
    "empty": (lambda raw: b"", "unresolved"),
    "garbage": (lambda raw: b"\x00\xff garbage \x80", "unresolved"),
    "wrong-json": (lambda raw: b'["not", "an", "envelope"]', "unresolved"),
    "wrong-type": (lambda raw: raw.replace(b'"generation":1', b'"generation":"1"'), "unresolved"),
    "bit-flipped-ct": (_flip_ct, "tampered"),
    "renamed": (_other_profile, "tampered"),
}


def states(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each profile's state as `models auth list` and as `models status` say it."""
    runner = CliRunner()
    listed = runner.invoke(cli, ["models", "auth", "list", "--json"], obj=App(env))
    status = runner.invoke(cli, ["models", "status", "--json"], obj=App(env))
    assert listed.exit_code == 0, listed.stderr
    assert status.exit_code == 0, status.stderr
    return (
        {p["profile"]: p["state"] for p in json.loads(listed.stdout)["profiles"]},
        {p["profile"]: p["state"] for p in json.loads(status.stdout)["profiles"]},
    )


@pytest.fixture
def stored(state_env: dict[str, str], paths: Paths) -> Path:
    """A real stored API key; its envelope's path."""
    added = CliRunner().invoke(
        cli,
        ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"],
        obj=App(state_env),
        input="sk-real-key",
    )
    assert added.exit_code == 0, added.stderr
    envelope = paths.vault_dir / "profiles" / f"{PROFILE}.json"
    assert envelope.is_file()
    return envelope


@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE.keys())
def test_a_damaged_envelope_has_one_state_everywhere(
    state_env: dict[str, str], stored: Path, damage: str
) -> None:
    change, expected = DAMAGE[damage]
    stored.write_bytes(change(stored.read_bytes()))
    listed, status = states(state_env)
    assert listed == status == {PROFILE: expected}


def test_ok_needs_login_and_missing_agree(
    state_env: dict[str, str], paths: Paths, stored: Path
) -> None:
    assert states(state_env) == ({PROFILE: "ok"}, {PROFILE: "ok"})

    vault = Vault.open(paths.state_dir, state_env)
    vault.mark(PROFILE, ProfileStatus(state="needs_login", message="revoked"))
    assert states(state_env) == ({PROFILE: "needs_login"}, {PROFILE: "needs_login"})

    stored.unlink()  # still configured in clawgate.json: nothing stored is missing
    assert states(state_env) == ({PROFILE: "missing"}, {PROFILE: "missing"})


def test_a_config_key_that_is_no_profile_id_is_unresolved_not_a_crash(
    state_env: dict[str, str], paths: Paths
) -> None:
    paths.state_dir.mkdir(parents=True)
    paths.config_file.write_text(
        '{auth: {profiles: {"../../key": {provider: "openai", mode: "api_key"}}}}'
    )
    listed, status = states(state_env)
    assert listed == status == {"../../key": "unresolved"}

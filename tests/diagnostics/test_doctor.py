"""`clawgate doctor`: checks with fixes, migrations of OpenClaw-shaped configs with backups
and receipts, idempotent repairs, and no crash on a broken config."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pyjson5
import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from tests.auth.helpers import PROFILE, env_for
from tests.diagnostics.scenarios import probed
from tests.fakes.model_api import FakeModelAPI
from tests.oidc_server import OidcServer

pytestmark = pytest.mark.anyio
CONFIGS = Path(__file__).parent / "openclaw_configs"
CASES = sorted(p.name.removesuffix(".json5") for p in CONFIGS.glob("*.json5"))


def doctor(state: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["doctor", "--json", *args], obj=App(env_for(state)))
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else {}


def check(document: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in document["checks"] if c["name"] == name]
    return found


def backups(state: Path) -> list[Path]:
    return sorted(state.glob("clawgate.json.bak-*"))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


@pytest.mark.parametrize("case", CASES)
def test_fix_migrates_openclaw_configs_keeps_a_backup_and_is_idempotent(
    case: str, state: Path
) -> None:
    original = (CONFIGS / f"{case}.json5").read_text()
    config = state / "clawgate.json"
    config.write_text(original)
    config.chmod(0o600)  # as clawgate writes it (a wider one is a permissions finding)
    expected_file = CONFIGS / f"{case}.expected.json"

    dry, planned = doctor(state, "--dry-run")
    assert dry.exit_code in (0, 1)  # a report, never a crash
    assert config.read_text() == original  # a dry run changes nothing
    assert backups(state) == []

    fixed, report = doctor(state, "--fix")
    # Only profiles the config names but the vault does not hold may still fail, and the
    # chain's models that are left without a usable profile (naming the login they lack).
    failing = [c for c in report["checks"] if c["status"] == "fail"]
    for c in failing:
        assert c["name"].startswith("profile ") or (
            c["name"].startswith("model ") and "no usable profile" in c["message"] and c["fix"]
        ), c
    failing = [c["name"] for c in failing]
    assert fixed.exit_code == (1 if failing else 0)
    if not expected_file.exists():  # already clawgate's shape
        assert planned["diff"] is None
        assert report["changes"] == []
        assert config.read_text() == original
        assert backups(state) == []
        return
    assert planned["diff"].startswith("---")
    assert pyjson5.decode(config.read_text()) == json.loads(expected_file.read_text())
    [backup] = backups(state)
    assert backup.read_text() == original
    assert check(report, "config")["status"] == "fixed"
    receipt = json.loads(Path(report["receipt"]).read_text())
    [change] = receipt["changes"]
    assert change["file"] == str(config)
    assert change["backup"] == str(backup)
    assert change["changes"]
    # The migrated file loads without OpenClaw warnings, and a second --fix does nothing.
    migrated = config.read_bytes()
    again, second = doctor(state, "--fix")
    assert again.exit_code == fixed.exit_code
    assert second["changes"] == []
    assert second["receipt"] is None
    assert check(second, "config") == {
        "name": "config",
        "status": "ok",
        "message": f"{config} loads cleanly",
        "fix": None,
        "fixable": False,
    }
    assert config.read_bytes() == migrated
    assert backups(state) == [backup]


def test_a_malformed_config_is_reported_with_its_place(state: Path) -> None:
    (state / "clawgate.json").write_text(
        "{\n  agents: { defaults: { model: { primary: 42 } } },\n}"
    )
    (state / "clawgate.json").chmod(0o600)
    result, report = doctor(state)
    assert result.exit_code == 78
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    config = check(report, "config")
    assert config["status"] == "fail"
    assert f"{state / 'clawgate.json'}:2:" in config["message"]
    # The other checks still ran.
    assert check(report, "permissions")["status"] == "ok"
    (state / "clawgate.json").write_text("{ agents: ")
    result, report = doctor(state, "--fix")
    assert result.exit_code == 78
    assert "not valid JSON5" in check(report, "config")["message"]
    assert (state / "clawgate.json").read_text() == "{ agents: "
    assert backups(state) == []


def test_fix_makes_secret_files_private(state: Path) -> None:
    run = CliRunner().invoke(
        cli,
        ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"],
        obj=App(env_for(state)),
        input="sk-file-mode-1",
    )
    assert run.exit_code == 0, run.stderr
    key = state / "vault" / "key"
    key.chmod(0o644)
    (state / "vault").chmod(0o755)
    result, report = doctor(state)
    assert result.exit_code == 1
    assert check(report, "permissions")["status"] == "fail"
    assert check(report, "permissions")["fixable"] is True
    result, report = doctor(state, "--fix")
    assert result.exit_code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "vault").stat().st_mode) == 0o700
    assert check(report, "permissions")["status"] == "fixed"
    assert doctor(state, "--fix")[1]["changes"] == []


def test_fix_removes_a_dead_gateways_runtime_file(state: Path) -> None:
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    runtime = state / "gateway.json"
    runtime.write_text(json.dumps({"pid": gone, "bind": "127.0.0.1", "port": 1}))
    assert check(doctor(state)[1], "stale files")["status"] == "warn"
    assert check(doctor(state, "--fix")[1], "stale files")["status"] == "fixed"
    assert not runtime.exists()


async def test_doctor_names_dead_grants_and_tampered_profiles(
    idp: OidcServer,
    guarded: FakeModelAPI,
    tmp_path: Path,
) -> None:
    await probed(idp, guarded, tmp_path / "dead", "dead_grant")
    await probed(idp, guarded, tmp_path / "tampered", "tampered")
    dead = check(doctor(tmp_path / "dead")[1], f"profile {PROFILE}")
    assert (dead["status"], dead["fix"]) == (
        "fail",
        "clawgate models auth login --provider myidp --device-code",
    )
    tampered = check(doctor(tmp_path / "tampered")[1], f"profile {PROFILE}")
    assert tampered["status"] == "fail"
    assert tampered["message"].startswith("tampered")


def test_a_profile_whose_config_entry_disagrees_with_its_envelope_is_named(state: Path) -> None:
    added = CliRunner().invoke(
        cli,
        ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"],
        obj=App(env_for(state)),
        input="sk-mismatch-1",
    )
    assert added.exit_code == 0, added.stderr
    config = state / "clawgate.json"
    document = pyjson5.decode(config.read_text())
    document["auth"]["profiles"]["openai:default"]["mode"] = "oauth"
    config.write_text(json.dumps(document))
    found = check(doctor(state)[1], "profile openai:default")
    assert found["status"] == "warn"
    assert "oauth" in found["message"]
    assert "api_key" in found["message"]

"""`doctor` runs what `models status --check` runs: the chain resolves, each chain model has a
usable profile or names the login it lacks; the vault and profile checks run on a broken
config too; `--check` counts a failed probe; "last used" counts failed turns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from tests.fakes.model_api import OPENAI, FakeModelAPI


def run(state: Path, *args: str, stdin: str | None = None) -> Result:
    env = {"CLAWGATE_STATE_DIR": str(state)}
    return CliRunner().invoke(cli, list(args), obj=App(env), input=stdin)


def checks(result: Result) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def configure(state: Path, document: dict[str, Any] | str) -> None:
    path = state / "clawgate.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    path.chmod(0o600)


def chain(primary: str, *fallbacks: str, **providers: Any) -> dict[str, Any]:
    return {
        "agents": {"defaults": {"model": {"primary": primary, "fallbacks": list(fallbacks)}}},
        "models": {"providers": providers},
    }


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


def test_an_unresolvable_chain_fails_with_its_fix(state: Path) -> None:
    configure(state, chain("gpt4"))
    result = run(state, "doctor", "--json")
    assert result.exit_code == 1
    found = checks(result)["model chain"]
    assert found["status"] == "fail"
    assert "'gpt4' is neither provider/model nor an alias" in found["message"]
    assert found["fix"].startswith("name a model as <provider>/<model>")

    human = run(state, "doctor")
    assert human.exit_code == 1
    lines = human.stdout.splitlines()
    failed = next(i for i, line in enumerate(lines) if "model chain:" in line)
    assert lines[failed].startswith(" fail  model chain: ")
    assert lines[failed + 1].startswith("       fix: name a model as")

    status = run(state, "models", "status", "--check")
    assert status.exit_code == 1
    assert "model chain: model 'gpt4'" in status.stdout
    assert "  fix: name a model as" in status.stdout
    assert "┃ # " not in status.stdout  # no empty chain table


def test_a_chain_model_without_a_login_names_the_missing_one(state: Path) -> None:
    configure(state, chain("openai/gpt-4.1-mini"))
    result = run(state, "doctor", "--json")
    assert result.exit_code == 1
    found = checks(result)["model openai/gpt-4.1-mini (primary)"]
    assert found["status"] == "fail"  # nothing in the chain can answer
    assert "no usable profile: openai:default" in found["message"]
    assert "clawgate models auth add --provider openai --api-key-stdin" in found["fix"]

    added = run(
        state, "models", "auth", "add", "--provider", "openai", "--api-key-stdin", stdin="k"
    )
    assert added.exit_code == 0, added.stderr
    result = run(state, "doctor", "--json")
    assert checks(result)["model openai/gpt-4.1-mini (primary)"]["status"] == "ok"
    assert result.exit_code == 0, result.stdout


def test_a_fallback_without_a_login_warns_while_the_primary_answers(state: Path) -> None:
    configure(state, chain("local/smollm2-135m", "anthropic/claude-sonnet-4-5"))
    result = run(state, "doctor", "--json")
    assert result.exit_code == 0, result.stdout
    found = checks(result)
    assert found["model local/smollm2-135m (primary)"]["status"] == "ok"
    fallback = found["model anthropic/claude-sonnet-4-5 (fallback)"]
    assert fallback["status"] == "warn"
    assert "--provider anthropic" in fallback["fix"]


def test_a_broken_config_still_checks_the_vault_and_profiles(state: Path) -> None:
    added = run(
        state, "models", "auth", "add", "--provider", "openai", "--api-key-stdin", stdin="k"
    )
    assert added.exit_code == 0, added.stderr
    configure(state, "{\n  agents: { defaults: { model: { primary: 42 } } },\n}")
    result = run(state, "doctor", "--json")
    assert result.exit_code == 78
    found = checks(result)
    assert found["config"]["status"] == "fail"
    assert found["vault key"]["status"] == "ok"
    assert found["profile openai:default"]["status"] == "ok"
    assert found["permissions"]["status"] == "ok"

    human = run(state, "doctor").stdout.splitlines()
    config = next(i for i, line in enumerate(human) if "config:" in line)
    # The error's own lines and its fix stay under the check, past the status column.
    assert human[config + 1].startswith("       ")
    assert any(line.startswith("       fix: edit ") for line in human)


def test_an_empty_vault_says_it_has_no_key_yet(state: Path) -> None:
    result = run(state, "doctor", "--json")
    key = checks(result)["vault key"]
    assert key["message"] == "none yet (made when a credential is first stored)"
    assert "nowhere" not in run(state, "doctor").stdout


def keyed(state: Path, api: FakeModelAPI) -> None:
    upstream = {"api": "openai-completions", "baseUrl": f"{api.url}/keyed/v1", "auth": "api-key"}
    configure(state, chain("keyed/m", keyed=upstream))
    added = run(state, "models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin="k")
    assert added.exit_code == 0, added.stderr


def test_a_failed_probe_is_remembered_by_check_and_shown(state: Path, api: FakeModelAPI) -> None:
    keyed(state, api)
    api.script(OPENAI["unauthorized"], path="/keyed/")
    probed = run(state, "models", "status", "--probe", "--check")
    assert probed.exit_code == 1, probed.stdout

    later = run(state, "models", "status", "--check")  # no probe now: the last one counts
    assert later.exit_code == 1
    assert "keyed:default: the last probe failed (auth" in later.stdout
    assert "last probe" in later.stdout  # the column
    report = run(state, "models", "status", "--json")
    [profile] = json.loads(report.stdout)["profiles"]
    assert profile["lastProbe"]["ok"] is False

    doctor = run(state, "doctor", "--json")
    assert checks(doctor)["profile keyed:default"]["status"] in ("warn", "fail")
    assert "the last probe failed" in checks(doctor)["profile keyed:default"]["message"]


def test_last_used_counts_a_failed_turn(state: Path, api: FakeModelAPI) -> None:
    keyed(state, api)
    api.script(OPENAI["content_policy"], path="/keyed/")
    failed = run(state, "chat", "hi")
    assert failed.exit_code != 0
    report = json.loads(run(state, "models", "status", "--json").stdout)
    [profile] = report["profiles"]
    assert profile["lastUsed"] is not None
    assert profile["lastResult"] == "failed"
    human = run(state, "models", "status").stdout
    assert "failed" in human

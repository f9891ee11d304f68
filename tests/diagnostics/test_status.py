"""`clawgate models status`: state only, the truth about each profile, and the probe run in
the gateway when one runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.state import State
from tests.auth.helpers import PROFILE, env_for
from tests.diagnostics.scenarios import probed
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, config, start_gateway
from tests.oidc_server import OidcServer

pytestmark = pytest.mark.anyio
DEAD_FIX = "clawgate models auth login --provider myidp --device-code"


def run(state: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env_for(state)), input=stdin)


def status(state: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run(state, "models", "status", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def profile(document: dict[str, Any], profile_id: str = PROFILE) -> dict[str, Any]:
    [found] = [p for p in document["profiles"] if p["profile"] == profile_id]
    return found


async def test_a_dead_grant_is_needs_login_with_the_fix_in_status(
    idp: OidcServer,
    guarded: FakeModelAPI,
    tmp_path: Path,
) -> None:
    await probed(idp, guarded, tmp_path, "dead_grant")
    code, document = status(tmp_path, "--check")
    assert code == 1
    found = profile(document)
    assert (found["state"], found["fix"]) == ("needs_login", DEAD_FIX)
    assert found["grant"]["state"] == "dead"
    assert found["usedBy"] == ["myidp/m"]
    assert found["lastProbe"]["failure"] == "auth_dead"  # the last probe, without a new one
    assert document["chain"][0]["steps"] == [
        {"profile": PROFILE, "decision": "skip_needs_login", "reason": "auth_dead"}
    ]
    human = run(tmp_path, "models", "status")
    assert human.exit_code == 0  # without --check, a report is not a failure
    assert DEAD_FIX in human.stdout.replace("\n", "")


async def test_an_undecryptable_profile_is_never_ok(
    idp: OidcServer,
    guarded: FakeModelAPI,
    tmp_path: Path,
) -> None:
    await probed(idp, guarded, tmp_path, "tampered")
    code, document = status(tmp_path, "--check")
    assert code == 1
    assert profile(document)["state"] == "tampered"
    assert any(PROFILE in reason for reason in document["attention"])
    listed = json.loads(run(tmp_path, "models", "auth", "list", "--json").stdout)
    assert [p["state"] for p in listed["profiles"]] == ["tampered"]
    # The CLI runs its own event loop: off this test's loop.
    probing = await asyncio.to_thread(run, tmp_path, "models", "status", "--probe", "--json")
    assert probing.exit_code == 0, (probing.stderr, probing.exception)
    probe = json.loads(probing.stdout)
    [result] = [r for r in probe["probe"]["results"] if r["profile"] == PROFILE]
    assert (result["ok"], result["credential"]) == (False, "failed")


async def test_refresh_grants_are_told_apart_from_access_validity(
    idp: OidcServer,
    guarded: FakeModelAPI,
    tmp_path: Path,
) -> None:
    await probed(idp, guarded, tmp_path / "fresh", "valid")
    await probed(idp, guarded, tmp_path / "refreshed", "expiring")
    await probed(idp, guarded, tmp_path / "slow", "issuer_slow")
    grants = {}
    for name in ("fresh", "refreshed", "slow"):
        code, document = status(tmp_path / name, "--check")
        found = profile(document)
        assert found["validFor"] > 0
        grants[name] = (found["grant"]["state"], code)
    assert grants == {"fresh": ("untested", 0), "refreshed": ("ok", 0), "slow": ("failing", 1)}
    _, slow = status(tmp_path / "slow")
    assert "timeout" in profile(slow)["grant"]["message"]


def test_status_reads_state_only(tmp_path: Path) -> None:
    """No gateway, no servers, an unreachable provider: status still answers from state."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "clawgate.json").write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "far": {"api": "openai-completions", "baseUrl": "http://192.0.2.1/v1"}
                    }
                },
                "agents": {
                    "defaults": {
                        "model": {"primary": "far/m", "fallbacks": ["local/smollm2-135m"]},
                        "models": {"far/m": {"alias": "far", "params": {"contextTokens": 8000}}},
                    }
                },
            }
        )
    )
    added = run(state, "models", "auth", "add", "--provider", "far", "--api-key-stdin", stdin="k1")
    assert added.exit_code == 0, added.stderr
    code, document = status(state, "--check")
    assert code == 0, document["attention"]
    assert [(c["ref"], c["alias"], c["context"], c["role"]) for c in document["chain"]] == [
        ("far/m", "far", 8000, "primary"),
        ("local/smollm2-135m", None, None, "fallback"),
    ]
    found = profile(document, "far:default")
    assert (found["kind"], found["billing"], found["state"]) == ("api_key", "metered", "ok")
    assert found["grant"] == {"state": "none", "at": None, "message": None}
    assert document["vaultKey"]["source"] == "file"
    assert document["gateway"] == {"running": False}
    assert "k1" not in json.dumps(document)


@pytest.fixture
def gateway(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api)
    yield running
    running.stop()


def test_with_a_gateway_the_probe_runs_in_it(gateway: RunningGateway, api: FakeModelAPI) -> None:
    document = config(api.url)
    document["models"]["providers"]["keyed"]["models"] = [{"id": "k1"}]
    gateway.write_config(json.dumps(document))
    added = gateway.cli(
        "models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin="sk-keyed-9\n"
    )
    assert added.exit_code == 0, added.stderr
    assert api.paths("/keyed/") == []
    probed = gateway.cli(
        "models", "status", "--probe", "--probe-profile", "keyed:default", "--json", "--check"
    )
    assert probed.exit_code == 0, probed.stdout
    document = json.loads(probed.stdout)
    assert document["gateway"]["running"]
    assert document["gateway"]["configCurrent"]
    assert document["probe"]["ranIn"] == "gateway"
    [result] = document["probe"]["results"]
    assert (result["profile"], result["model"], result["ok"]) == ("keyed:default", "k1", True)
    assert result["pid"] == gateway.process.pid
    # The gateway's own record of the probe, and the request the model API saw from it.
    db = State.open(gateway.state / "state.db")
    record = db.probes.latest()["keyed:default"]
    db.close()
    assert (record.ran_in, record.pid, record.ok) == ("gateway", gateway.process.pid, True)
    [seen] = api.paths("/keyed/")
    assert seen.headers["authorization"] == "Bearer sk-keyed-9"
    assert "sk-keyed-9" not in probed.stdout


def test_status_says_when_the_gateway_runs_an_older_config(gateway: RunningGateway) -> None:
    gateway.write_config("{ agents: { defaults: { model: { primary: 42 } } } }")
    result = gateway.cli("models", "status", "--json", "--check")
    # The CLI cannot load the broken file either: it says where, and exits 78.
    assert result.exit_code == 78
    assert "clawgate.json:1:" in result.stderr
    gateway.write_config('{ agents: { defaults: { model: { primary: "up/m" } } } }')
    code = gateway.cli("models", "status", "--json", "--check")
    document = json.loads(code.stdout)
    assert document["gateway"]["configCurrent"] is True
    assert code.exit_code == 0

"""The probe against a real authorization server and a model API that accepts only the
tokens that server accepts: the probe takes the turn's path, so for every broker scenario a
probe and a real turn reach the same verdict (docs/auth.md, "Failure modes" 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clawgate.clock import ManualClock
from clawgate.config import edit_config
from clawgate.runtime import ProbeTarget, probe_targets
from clawgate.state import State
from tests.auth.helpers import PROFILE, env_for, vault
from tests.diagnostics.scenarios import (
    SCENARIOS,
    TARGET,
    Verdict,
    logged_in,
    probed,
    runtime_for,
    state_of,
    turned,
)
from tests.fakes.model_api import FakeModelAPI
from tests.oidc_server import OidcServer

pytestmark = pytest.mark.anyio


VERDICTS = {
    "valid": Verdict(True, None, "ok"),
    "expiring": Verdict(True, None, "ok"),
    "dead_grant": Verdict(False, "auth_dead", "needs_login"),
    "rejected_access": Verdict(True, None, "ok"),
    "issuer_slow": Verdict(True, None, "ok"),
    "tampered": Verdict(False, "auth_dead", "ok"),  # unreadable, so never marked: shown as such
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_probe_and_a_turn_agree(
    name: str, idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    result = await probed(idp, guarded, tmp_path / "probe", name)
    turn = await turned(idp, guarded, tmp_path / "turn", name)
    assert Verdict(result.ok, result.failure, state_of(tmp_path / "probe")) == turn
    assert turn == VERDICTS[name]


async def test_each_step_of_the_probe_is_reported(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    steps = {}
    for name in SCENARIOS:
        before = idp.refreshes()["success"]
        result = await probed(idp, guarded, tmp_path / name, name)
        steps[name] = (result.credential, result.request, idp.refreshes()["success"] - before)
    assert steps == {
        "valid": ("vault", "ok", 0),  # a still-valid access token: no refresh
        "expiring": ("refreshed", "ok", 1),
        "dead_grant": ("failed", "skipped", 0),
        "rejected_access": ("refreshed_after_401", "ok", 1),
        "issuer_slow": ("stale-but-valid", "ok", 0),
        "tampered": ("failed", "skipped", 0),
    }


async def test_a_dead_grant_names_the_login_command(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    result = await probed(idp, guarded, tmp_path, "dead_grant")
    assert result.failure == "auth_dead"
    assert result.fix == "clawgate models auth login --provider myidp --device-code"
    assert vault(tmp_path).status(PROFILE).fix == result.fix
    # And the probe is on record, with the process that ran it.
    db = State.open(tmp_path / "state.db")
    record = db.probes.latest()[PROFILE]
    db.close()
    assert (record.ok, record.failure, record.ran_in) == (False, "auth_dead", "process")
    assert record.result["fix"] == result.fix


async def test_targets_are_the_stored_profiles_and_the_chain(
    idp: OidcServer, guarded: FakeModelAPI, tmp_path: Path
) -> None:
    clock = ManualClock(start=1_900_000_000.0)
    await logged_in(idp, guarded, tmp_path, clock)

    def add_local_fallback(raw: dict[str, Any]) -> None:
        raw["agents"]["defaults"]["model"]["fallbacks"] = ["local/smollm2-135m"]

    edit_config(tmp_path / "clawgate.json", env_for(tmp_path), add_local_fallback)
    async with runtime_for(tmp_path, clock) as runtime:
        assert probe_targets(runtime) == [
            ProbeTarget("local:default", "local", "smollm2-135m"),
            TARGET,
        ]
        assert probe_targets(runtime, provider="myidp") == [TARGET]
        assert probe_targets(runtime, profile="nobody:else") == []

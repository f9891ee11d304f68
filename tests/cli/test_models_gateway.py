"""A running gateway picks up what the `models` commands change: the next turn runs on the
new chain, with no restart; and `models list` reads the same config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway

HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def gateway(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api)
    yield running
    running.stop()


def test_set_and_fallbacks_reach_the_running_gateway(gateway: RunningGateway) -> None:
    client = gateway.client()
    answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "up/m"

    changed = gateway.cli("models", "set", "alt/m")
    assert changed.exit_code == 0, changed.stderr
    assert "the running gateway (pid" in changed.stderr
    assert "picked it up" in changed.stderr
    answer = client.chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "alt/m"

    aliased = gateway.cli("models", "aliases", "add", "quick", "up/m")
    assert aliased.exit_code == 0, aliased.stderr
    assert "picked it up" in aliased.stderr
    answer = client.chat.completions.create(model="quick", messages=HELLO)  # type: ignore[arg-type]
    assert answer.model == "up/m"


def test_models_list_shows_the_chain_and_credentials(gateway: RunningGateway) -> None:
    listed = gateway.cli("models", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = {row["ref"]: row for row in json.loads(listed.stdout)["models"]}
    assert rows["up/m"]["role"] == "primary"
    assert rows["alt/m"]["role"] == "fallback 1"
    assert rows["up/m"]["auth"] == {"needs": "none", "usable": True, "profiles": []}
    assert [r["ref"] for r in json.loads(listed.stdout)["models"]][:2] == ["up/m", "alt/m"]

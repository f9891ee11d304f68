"""`clawgate gateway keys …`: create shows the key once, list never shows it, revoke and
rotate take effect, mistakes are one-line errors with the fix; and a running gateway takes
a key made by the CLI from its next request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.service import KEY_PREFIX
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway


@pytest.fixture
def gateway(tmp_path: Path, api: FakeModelAPI) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path / "state", api)
    yield running
    running.stop()


def keys(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["gateway", "keys", *args], obj=App(env))


def listed(env: dict[str, str]) -> list[dict[str, Any]]:
    result = keys(env, "list", "--json")
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


def test_create_prints_the_key_once_and_list_shows_only_its_limits(
    state_env: dict[str, str],
) -> None:
    made = keys(
        state_env, "create", "phone", "--models", "up/m", "--models", "clawgate", "--rpm", "30",
        "--tokens-per-day", "50000", "--expires", "90d",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith(KEY_PREFIX)
    assert "shown only this once" in made.stderr
    (entry,) = listed(state_env)
    assert entry["name"] == "phone"
    assert entry["models"] == ["up/m", "clawgate"]
    assert (entry["rpm"], entry["tokensPerDay"]) == (30, 50000)
    assert entry["expiresAt"] - entry["createdAt"] == 90 * 86400
    table = keys(state_env, "list")
    assert "phone" in table.stdout
    assert "rpm: 30" in table.stdout
    for shown in (table.stdout, json.dumps(listed(state_env))):
        assert key not in shown
        assert key[len(KEY_PREFIX) :] not in shown


def test_rotate_gives_a_new_key_and_revoke_removes_it(state_env: dict[str, str]) -> None:
    first = keys(state_env, "create", "ide", "--rpm", "5").stdout.strip()
    rotated = keys(state_env, "rotate", "ide")
    assert rotated.exit_code == 0, rotated.output
    second = rotated.stdout.strip()
    assert second.startswith(KEY_PREFIX)
    assert second != first
    assert listed(state_env)[0]["rpm"] == 5  # the limits are kept
    revoked = keys(state_env, "revoke", "ide")
    assert revoked.exit_code == 0
    assert listed(state_env) == []
    assert "no client keys" in keys(state_env, "list").stdout


def test_mistakes_are_one_line_errors_with_the_fix(state_env: dict[str, str]) -> None:
    assert keys(state_env, "create", "dup").exit_code == 0
    for args, said in [
        (("create", "dup"), "a client key named 'dup' exists"),
        (("create", "Bad Name"), "is not a client key name"),
        (("revoke", "nobody"), "no client key named 'nobody'"),
        (("rotate", "nobody"), "no client key named 'nobody'"),
    ]:
        result = keys(state_env, *args)
        assert result.exit_code == 2, args
        assert said in result.stderr
        assert "fix:" in result.stderr
        assert "Traceback" not in result.output
    bad = keys(state_env, "create", "x", "--expires", "soon")
    assert bad.exit_code == 2
    assert "like 90d" in bad.stderr


def test_a_running_gateway_takes_a_new_or_revoked_key_from_its_next_request(
    gateway: RunningGateway,
) -> None:
    key = gateway.cli("gateway", "keys", "create", "laptop", "--models", "up/m").stdout.strip()
    ask = {"model": "up/m", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {key}"}) as http:
        answer = http.post("/v1/chat/completions", json=ask)
        assert answer.status_code == 200, answer.text
        other = http.post("/v1/chat/completions", json={**ask, "model": "alt/m"})
        assert other.status_code == 403
        assert gateway.cli("gateway", "keys", "revoke", "laptop").exit_code == 0
        assert http.post("/v1/chat/completions", json=ask).status_code == 401

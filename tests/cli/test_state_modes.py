"""After a gateway run, a login, a config change and a chat, every file the state directory
holds is 0600 and every directory 0700 (locks included), whatever the umask; `doctor` says so
and checks every one of them."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import config, start_gateway


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env), input=stdin)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a careless shell: clawgate must not depend on the user's."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    found = {}
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_everything_under_the_state_dir_is_private(
    tmp_path: Path, api: FakeModelAPI, open_umask: None
) -> None:
    state = tmp_path / "state"
    gateway = start_gateway(state, api)
    try:
        answer = gateway.client().chat.completions.create(
            model="up/m", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content
        added = gateway.cli(
            "models", "auth", "add", "--provider", "openai", "--api-key-stdin", stdin="sk-test"
        )
        assert added.exit_code == 0, added.stderr
        chosen = gateway.cli("models", "fallbacks", "add", "alt/other")
        assert chosen.exit_code == 0, chosen.stderr
    finally:
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.stderr is not None
        said = gateway.process.stderr.read()  # until it exits
        assert gateway.stop() == 0
    assert said.strip().endswith("clawgate gateway stopped")
    chat = run(gateway.env, "chat", "hello", "--model", "up/m", "--session", "s")
    assert chat.exit_code == 0, chat.stderr

    found = modes(state)
    for name in ("gateway.lock", ".clawgate.json.lock", "state.db", "clawgate.json", "vault"):
        assert name in found, sorted(found)
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (state / name).is_dir() else 0o600)
    }
    assert wrong == {}

    doctor = run(gateway.env, "doctor", "--json")
    [permissions] = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "permissions"]
    assert permissions["status"] == "ok", permissions


def test_doctor_names_and_fixes_any_file_others_can_read(
    tmp_path: Path, api: FakeModelAPI, open_umask: None
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "clawgate.json").write_text(json.dumps(config(api.url)))
    env = {"CLAWGATE_STATE_DIR": str(state)}
    assert run(env, "models", "fallbacks", "add", "alt/other").exit_code == 0
    lock = state / ".clawgate.json.lock"
    lock.chmod(0o644)  # as an older clawgate left it
    (state / "logs").mkdir(mode=0o755)

    result = run(env, "doctor", "--json")
    [permissions] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "permissions"]
    assert permissions["status"] == "fail"
    assert str(lock) in permissions["message"]
    assert str(state / "logs") in permissions["message"]

    fixed = run(env, "doctor", "--fix", "--json")
    assert fixed.exit_code == 0, fixed.stdout
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "logs").stat().st_mode) == 0o700

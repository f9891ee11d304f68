"""``logs/gateway.log`` (the background gateway's output) is private: 0600 in a 0700
directory, an older 0644 one tightened, and never written through a symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli

# The gateway refuses this config at start (exit 78): its one line of output lands in the log.
BAD_CONFIG = '{gateway: {port: "not a port"}}'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "clawgate.json").write_text(BAD_CONFIG)
    return {**os.environ, "CLAWGATE_STATE_DIR": str(state), "XDG_CONFIG_HOME": str(tmp_path)}


def start(env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, ["gateway", "start"], obj=App(env))


def test_a_new_log_is_0600_in_a_0700_directory(env: dict[str, str]) -> None:
    logs = Path(env["CLAWGATE_STATE_DIR"]) / "logs"
    old = os.umask(0o022)  # the usual umask, which made it 0644
    try:
        result = start(env)
    finally:
        os.umask(old)
    assert result.exit_code == 1
    assert "exited at start (status 78)" in result.stderr
    assert (mode(logs), mode(logs / "gateway.log")) == (0o700, 0o600)
    assert "gateway.port" in (logs / "gateway.log").read_text()


def test_an_older_open_log_is_tightened_and_kept(env: dict[str, str]) -> None:
    logs = Path(env["CLAWGATE_STATE_DIR"]) / "logs"
    logs.mkdir(mode=0o755)
    log = logs / "gateway.log"
    log.write_text("an earlier run\n")
    log.chmod(0o644)
    assert start(env).exit_code == 1
    assert (mode(logs), mode(log)) == (0o700, 0o600)
    text = log.read_text()
    assert text.startswith("an earlier run\n")  # appended to, not replaced
    assert "gateway.port" in text


def test_a_symlinked_log_is_not_followed(env: dict[str, str], tmp_path: Path) -> None:
    logs = Path(env["CLAWGATE_STATE_DIR"]) / "logs"
    logs.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("someone else's file\n")
    elsewhere.chmod(0o644)
    (logs / "gateway.log").symlink_to(elsewhere)
    result = start(env)
    assert result.exit_code == 1
    first, fix = result.stderr.splitlines()
    assert first.startswith(f"error: cannot open the gateway's log {logs / 'gateway.log'}")
    assert "a symlink, which clawgate does not follow" in first
    assert fix == f"  fix: remove {logs / 'gateway.log'}; clawgate creates it again"
    assert elsewhere.read_text() == "someone else's file\n"
    assert mode(elsewhere) == 0o644  # not chmod-ed through the link either

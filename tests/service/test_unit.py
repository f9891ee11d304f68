"""`gateway install|uninstall|start|stop|restart`: the unit file, and the background process
where no user systemd runs (as in this container)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import config


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def test_install_writes_a_unit_that_does_not_restart_on_bad_config(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CLAWGATE_STATE_DIR": str(tmp_path / "s"),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    result = run(env, "gateway", "install")
    assert result.exit_code == 0, result.stderr
    unit = (tmp_path / "systemd" / "user" / "clawgate-gateway.service").read_text()
    assert "Restart=on-failure" in unit
    assert "RestartPreventExitStatus=78" in unit
    assert f"Environment=CLAWGATE_STATE_DIR={tmp_path / 's'}" in unit
    assert "gateway run" in unit
    assert run(env, "gateway", "uninstall").exit_code == 0
    assert not (tmp_path / "systemd" / "user" / "clawgate-gateway.service").exists()
    assert run(env, "gateway", "uninstall").stdout == "no unit installed\n"


def test_start_status_restart_stop_in_the_background(tmp_path: Path, api: FakeModelAPI) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "clawgate.json").write_text(json.dumps(config(api.url)))
    env = {**os.environ, "CLAWGATE_STATE_DIR": str(state), "XDG_CONFIG_HOME": str(tmp_path)}
    started = run(env, "gateway", "start")
    assert started.exit_code == 0, started.stderr
    try:
        status = json.loads(run(env, "gateway", "status", "--json").stdout)
        assert f"pid {status['pid']}" in started.stdout
        assert httpx.get(f"http://127.0.0.1:{status['port']}/healthz").json() == {"ok": True}
        again = run(env, "gateway", "start")
        assert again.exit_code == 1
        assert "already running" in again.stderr

        restarted = run(env, "gateway", "restart")
        assert restarted.exit_code == 0, restarted.stderr
        after = json.loads(run(env, "gateway", "status", "--json").stdout)
        assert after["pid"] != status["pid"]
    finally:
        stopped = run(env, "gateway", "stop")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.stdout.startswith("stopped pid ")
    assert run(env, "gateway", "status").exit_code == 3
    assert run(env, "gateway", "stop").stdout == "no gateway is running\n"
    assert "listening on" in (state / "logs" / "gateway.log").read_text()

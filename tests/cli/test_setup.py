from __future__ import annotations

import json
import stat

from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.config import Paths


def test_setup_then_setup_again(state_env: dict[str, str], paths: Paths) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["setup"], obj=App(state_env))
    assert first.exit_code == 0, first.output
    assert f"state dir  {paths.state_dir} (created)" in first.stdout
    assert f"config     {paths.config_file} (written)" in first.stdout
    assert stat.S_IMODE(paths.state_dir.stat().st_mode) == 0o700

    second = runner.invoke(cli, ["setup", "--json"], obj=App(state_env))
    assert second.exit_code == 0
    assert json.loads(second.stdout) == {
        "stateDir": str(paths.state_dir),
        "configFile": str(paths.config_file),
        "createdStateDir": False,
        "wroteConfig": False,
    }

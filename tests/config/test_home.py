from __future__ import annotations

from pathlib import Path

import pytest

from clawgate.config import (
    codex_home,
    home_dir,
    openclaw_state_dir,
    user_unit_dir,
    xdg_config_home,
)


@pytest.fixture
def process_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's own home, what Path.home() and '~' resolve to."""
    home = tmp_path / "process-home"
    monkeypatch.setenv("HOME", str(home))
    return home


def test_home_is_read_from_the_mapping_not_the_process(process_home: Path) -> None:
    assert home_dir({"HOME": "/home/alice"}) == Path("/home/alice")


@pytest.mark.parametrize("env", [{}, {"HOME": ""}])
def test_home_missing_falls_back_to_the_process_home(
    process_home: Path, env: dict[str, str]
) -> None:
    assert home_dir(env) == process_home


def test_home_expands_a_leading_tilde(process_home: Path) -> None:
    assert home_dir({"HOME": "~/elsewhere"}) == process_home / "elsewhere"


def test_xdg_config_home_when_set() -> None:
    env = {"HOME": "/home/alice", "XDG_CONFIG_HOME": "/xdg/config"}
    assert xdg_config_home(env) == Path("/xdg/config")
    assert user_unit_dir(env) == Path("/xdg/config/systemd/user")


@pytest.mark.parametrize(
    "env", [{"HOME": "/home/alice"}, {"HOME": "/home/alice", "XDG_CONFIG_HOME": ""}]
)
def test_xdg_config_home_unset_or_empty_is_home_dot_config(env: dict[str, str]) -> None:
    assert xdg_config_home(env) == Path("/home/alice/.config")
    assert user_unit_dir(env) == Path("/home/alice/.config/systemd/user")


def test_xdg_config_home_without_home_uses_the_process_home(process_home: Path) -> None:
    assert xdg_config_home({}) == process_home / ".config"
    assert user_unit_dir({}) == process_home / ".config" / "systemd" / "user"


def test_codex_home_from_its_variable_or_home() -> None:
    assert codex_home({"HOME": "/home/alice", "CODEX_HOME": "/opt/codex"}) == Path("/opt/codex")
    assert codex_home({"HOME": "/home/alice"}) == Path("/home/alice/.codex")
    assert codex_home({"HOME": "/home/alice", "CODEX_HOME": ""}) == Path("/home/alice/.codex")


def test_openclaw_state_dir_from_its_variable_or_home() -> None:
    env = {"HOME": "/home/alice", "OPENCLAW_STATE_DIR": "/srv/openclaw"}
    assert openclaw_state_dir(env) == Path("/srv/openclaw")
    assert openclaw_state_dir({"HOME": "/home/alice"}) == Path("/home/alice/.openclaw")


def test_tool_dirs_expand_a_leading_tilde(process_home: Path) -> None:
    assert codex_home({"CODEX_HOME": "~/codex"}) == process_home / "codex"
    assert openclaw_state_dir({"OPENCLAW_STATE_DIR": "~/oc"}) == process_home / "oc"


def test_tool_dirs_without_home_use_the_process_home(process_home: Path) -> None:
    assert codex_home({}) == process_home / ".codex"
    assert openclaw_state_dir({}) == process_home / ".openclaw"

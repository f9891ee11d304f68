from __future__ import annotations

import stat

from clawgate.config import DEFAULT_CONFIG_TEXT, Paths, setup


def mode(path: object) -> int:
    from pathlib import Path

    assert isinstance(path, Path)
    return stat.S_IMODE(path.stat().st_mode)


def test_setup_creates_private_state_dir_and_config(paths: Paths) -> None:
    result = setup(paths)
    assert result.created_dir
    assert result.wrote_config
    assert mode(paths.state_dir) == 0o700
    assert mode(paths.config_file) == 0o600
    assert paths.config_file.read_text() == DEFAULT_CONFIG_TEXT


def test_setup_is_idempotent_and_never_overwrites(paths: Paths) -> None:
    setup(paths)
    paths.config_file.write_text("{gateway: {port: 1234}}")
    again = setup(paths)
    assert not again.created_dir
    assert not again.wrote_config
    assert paths.config_file.read_text() == "{gateway: {port: 1234}}"


def test_setup_tightens_an_existing_state_dir(paths: Paths) -> None:
    paths.state_dir.mkdir(mode=0o755)
    setup(paths)
    assert mode(paths.state_dir) == 0o700


def test_paths_from_env(tmp_path: object) -> None:
    paths = Paths.from_env({"CLAWGATE_STATE_DIR": "/srv/cg", "CLAWGATE_CONFIG": "/etc/cg.json"})
    assert str(paths.state_dir) == "/srv/cg"
    assert str(paths.config_file) == "/etc/cg.json"
    assert str(paths.vault_dir) == "/srv/cg/vault"
    assert str(Paths.from_env({"CLAWGATE_STATE_DIR": "/srv/cg"}).config_file) == (
        "/srv/cg/clawgate.json"
    )

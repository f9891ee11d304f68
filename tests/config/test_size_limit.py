"""The config file is at most 1 MiB, refused before it is parsed (a 50 MB string in one key
took the process to 2.8 GB before a MemoryError): by its size, and by a bounded read for a
file whose size says nothing (a device, a file still growing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.config import ConfigError, Paths, load_config

LIMIT = 1024 * 1024  # docs/configuration.md: the most clawgate reads as a config


def _padded(path: Path, size: int) -> None:
    """A valid config of exactly ``size`` bytes: settings, then a comment to fill."""
    head = "{gateway: {port: 18789}} // "
    path.write_text(head + "x" * (size - len(head)))
    assert path.stat().st_size == size


def test_a_config_of_exactly_the_limit_loads(tmp_path: Path) -> None:
    config = tmp_path / "clawgate.json"
    _padded(config, LIMIT)
    assert load_config(config, {}).settings.gateway.port == 18789


@pytest.mark.parametrize("size", [LIMIT + 1, 50 * 1000 * 1000])
def test_a_bigger_one_is_refused_naming_the_file_and_the_limit(tmp_path: Path, size: int) -> None:
    config = tmp_path / "clawgate.json"
    with config.open("wb") as handle:  # sparse: the size is there, the bytes need not be
        handle.truncate(size)
    with pytest.raises(ConfigError) as info:
        load_config(config, {})
    assert info.value.message.startswith(f"{config} is larger than 1 MiB")
    assert info.value.exit_code == 78
    assert info.value.fix is not None


def test_a_file_whose_size_says_nothing_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    config = tmp_path / "clawgate.json"
    config.symlink_to("/dev/zero")  # st_size 0, endless
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_config(config, {})


def test_commands_that_read_or_edit_it_refuse_it_and_change_nothing(
    state_env: dict[str, str], paths: Paths
) -> None:
    paths.state_dir.mkdir(parents=True)
    _padded(paths.config_file, LIMIT + 1)
    before = paths.config_file.read_bytes()
    runner = CliRunner()
    for args in (
        ["models", "auth", "list"],  # reads
        ["models", "auth", "order", "set", "--provider", "openai", "openai:a"],  # edits
        ["models", "auth", "logout", "openai:a"],  # edits without reading first
    ):
        result = runner.invoke(cli, args, obj=App(state_env))
        assert result.exit_code == 78, (args, result.stderr)
        first, *rest = result.stderr.splitlines()
        assert first == f"error: {paths.config_file} is larger than 1 MiB ({LIMIT} bytes), " + (
            "the most clawgate reads as a config"
        )
        assert [line.split(":")[0] for line in rest] == ["  fix"]
        assert "Traceback" not in result.stderr
    assert paths.config_file.read_bytes() == before
    assert not os.path.exists(paths.config_file.with_name("clawgate.json.bak"))

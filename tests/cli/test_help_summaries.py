"""Every group's --help lists each command with its whole first sentence (wrapped, never cut
with "..."), at the narrowest common terminal width."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli


def groups(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from groups(command, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Group:
    found: click.Command = cli
    for name in path:
        assert isinstance(found, click.Group)
        found = found.commands[name]
    assert isinstance(found, click.Group)
    return found


@pytest.mark.parametrize("path", list(groups(cli)), ids=lambda p: " ".join(p) or "clawgate")
def test_help_shows_whole_summaries(path: tuple[str, ...], state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], obj=App(state_env), terminal_width=80)
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands
    flowing = " ".join(result.output.split())
    for name, command in command_at(path).commands.items():
        assert command.help, f"{name} has no help"
        summary = command.get_short_help_str()
        first_words = " ".join(command.help.split()[:4])
        assert summary.startswith(first_words)
        assert summary.endswith(".") or summary == " ".join(command.help.split())
        assert f"{name} {summary}" in flowing, name

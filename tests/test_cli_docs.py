"""docs/cli.md is generated from the click command tree and must match it (docs/auth.md,
"Failure modes" 9: docs that advertise flags the CLI rejects)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from clawgate.cli import App, cli

ROOT = Path(__file__).parents[1]


def test_the_committed_reference_is_what_the_cli_accepts() -> None:
    checked = subprocess.run(
        [sys.executable, "scripts/cli_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_every_flag_on_the_page_is_accepted(tmp_path: Path) -> None:
    """The other way round: each documented command answers --help, and each flag the page
    lists for it appears in that help."""
    page = (ROOT / "docs" / "cli.md").read_text()
    env = {"CLAWGATE_STATE_DIR": str(tmp_path)}
    sections = page.split("\n#")[1:]
    assert len(sections) > 20
    for section in sections:
        title = section.split("`")[1]
        args = title.split()[1:]
        shown = CliRunner().invoke(cli, [*args, "--help"], obj=App(env))
        assert shown.exit_code == 0, title
        for row in section.splitlines():
            if row.startswith("| `-"):
                names = row.split("`")[1].split()
                for flag in (n.strip(",") for n in names if n.startswith("-")):
                    assert flag in shown.stdout, (title, flag)


def test_the_device_code_flag_is_documented_and_accepted() -> None:
    page = (ROOT / "docs" / "cli.md").read_text()
    login = page.split("`clawgate models auth login`")[1].split("\n#")[0]
    assert "`--device-code`" in login


# Sentences about clawgate that the pattern below takes for commands; each is listed whole,
# so a new one is looked at (and a command named after ": " is always checked).
PROSE = {
    "follows no link it did not make",  # vault/_strict.py
    "made them",  # vault/_strict.py
    "opens no secret or lock through a link",  # vault/_strict.py
}


def missing_commands(named: set[str]) -> list[str]:
    """Each mention (the words after "clawgate") that names no command of the CLI, down to
    the subcommand. Strict: a first word that is no command (a group not built yet, a typo)
    is missing too, unless the sentence is listed in PROSE."""
    missing = []
    for words in sorted(named):
        if words.strip() in PROSE:
            continue
        command: click.Command = cli
        for word in words.split():
            if not isinstance(command, click.Group):
                break  # the words after a command are its arguments
            if word not in command.commands:
                missing.append(f"clawgate{words}: no such command {word!r}")
                break
            command = command.commands[word]
    return missing


def test_every_command_a_message_names_exists() -> None:
    """Fixes and hints name commands (`clawgate models auth login …`): each must be one the
    CLI has, down to the subcommand."""
    named = set()
    for source in (ROOT / "src" / "clawgate").rglob("*.py"):
        # As fixes and hints write them: fix="clawgate …", "…: clawgate …", `clawgate …`.
        pattern = r"(?:fix=f?\"|: |`)clawgate((?: [a-z][a-z-]*)+)"
        named |= set(re.findall(pattern, source.read_text()))
    assert len(named) > 10
    assert missing_commands(named) == []


def test_a_command_of_a_group_that_does_not_exist_is_missing() -> None:
    """The check once skipped mentions whose first word is no group, so a fix naming
    `clawgate channels telegram pair` passed before there was any `channels`."""
    assert missing_commands({" nosuch group pair", " models nosuch", " models set"}) == [
        "clawgate models nosuch: no such command 'nosuch'",
        "clawgate nosuch group pair: no such command 'nosuch'",
    ]

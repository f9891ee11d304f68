"""docs/cli.md is generated from the click command tree and must match it (AUTH.md,
"Failure modes" 9: docs that advertise flags the CLI rejects)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_every_command_a_message_names_exists() -> None:
    """Fixes and hints name commands (`clawgate models auth login …`): each must be one the
    CLI has, down to the subcommand."""
    import re

    import click

    named = set()
    for source in (ROOT / "src" / "clawgate").rglob("*.py"):
        # As fixes and hints write them: fix="clawgate …", "…: clawgate …", `clawgate …`.
        pattern = r"(?:fix=f?\"|: |`)clawgate((?: [a-z][a-z-]*)+)"
        named |= set(re.findall(pattern, source.read_text()))
    checked = 0
    for words in sorted(named):
        command: click.Command = cli
        parts = words.split()
        if parts[0] not in cli.commands:  # prose ("clawgate configuration …"), not a command
            continue
        for word in parts:
            if not isinstance(command, click.Group):
                break  # the words after a command are its arguments
            assert word in command.commands, f"clawgate{words}: no such command {word!r}"
            command = command.commands[word]
        checked += 1
    assert checked > 10

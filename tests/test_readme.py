"""The README's two opening commands are the ones CI and a new user run; keep them true."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands() -> None:
    install_and_chat, run_tests = opening_commands()
    assert install_and_chat.startswith("bash scripts/install.sh && ")
    assert "clawgate chat " in install_and_chat
    assert run_tests == ".venv/bin/python -m pytest"


def test_ci_runs_the_readme_install_and_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    _, run_tests = opening_commands()
    assert "bash scripts/install.sh" in ci
    assert ci[-1] == run_tests

"""CLI start-up: `clawgate --help` and `clawgate models status` load only what they use.
Each check runs in a fresh interpreter, where sys.modules tells what a command imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.cli._lazy import LazyGroup
from clawgate.secret import Secret
from clawgate.state import State
from clawgate.vault import ApiKeyMaterial, OAuthMaterial, TokenMaterial, Vault

# What neither --help nor a command that stays on this machine needs.
SERVER = ("starlette", "uvicorn", "clawgate.gateway", "telegram", "clawgate.channels")
HEAVY = (*SERVER, "httpx", "clawgate.providers", "clawgate.runtime", "pydantic")
# What `models status` without --probe does not need: it reads the config, the vault and
# state.db and shows them. Turns, probes, refreshes and logins need the rest: the transports
# and their HTTP, the router, the broker, the login flows, an event loop, the metrics.
NOT_FOR_STATUS = (
    *SERVER,
    "httpx",
    "httpcore",
    "h11",
    "asyncio",
    "clawgate.runtime",
    "clawgate.routing._router",
    "clawgate.routing._embed",
    "clawgate.auth._broker",
    "clawgate.auth.logins",
    "clawgate.auth.oauth",
    "clawgate.cli.gateway",
    "clawgate.metrics",
    "prometheus_client",
    "psycopg",
    "psycopg_pool",
)
# Of the providers, status plans the chain with the registry (is a provider known?) and the
# attempt phases of the failure table; no transport, no conversation model.
PROVIDERS_FOR_STATUS = {
    "clawgate.providers",
    "clawgate.providers._registry",
    "clawgate.providers._events",
}


def ran(code: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """What ``code`` printed in a fresh interpreter, and the modules it held after."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    printed, _, modules = done.stdout.rstrip("\n").rpartition("\n")
    return printed, set(json.loads(modules))


def loaded_by(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    return ran(code, env)[1]


def under(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def run_cli(*args: str) -> str:
    return (
        "from clawgate.cli import cli\n"
        f"try:\n    cli({list(args)!r}, prog_name='clawgate')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )


def test_importing_the_cli_loads_no_command() -> None:
    assert under(loaded_by("import clawgate.cli"), (*HEAVY, "clawgate.config")) == []


def test_help_loads_no_command() -> None:
    assert under(loaded_by(run_cli("--help")), (*HEAVY, "clawgate.config")) == []
    assert under(loaded_by(run_cli("models", "--help")), HEAVY) == []


def test_models_status_loads_no_server(tmp_path: Path) -> None:
    modules = loaded_by(run_cli("models", "status"), {"CLAWGATE_STATE_DIR": str(tmp_path / "s")})
    assert "clawgate.cli.status" in modules
    assert under(modules, (*SERVER, "clawgate.cli.auth")) == []


@pytest.fixture
def status_state(tmp_path: Path) -> dict[str, str]:
    """A state directory `models status` has to read all of: an API key, an OAuth login and a
    setup token in the vault, a chain over them, and state.db."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    env = {"CLAWGATE_STATE_DIR": str(state)}
    chain = {"primary": "openai-codex/gpt-5.5", "fallbacks": ["anthropic/claude-opus-4-7"]}
    config = {"agents": {"defaults": {"model": chain}}}
    (state / "clawgate.json").write_text(json.dumps(config))
    vault = Vault.open(state, env)
    vault.save("openai:default", "openai", ApiKeyMaterial(Secret("sk-imports-0000")))
    login = OAuthMaterial(Secret("at-imports"), Secret("rt-imports"), expires_at=2e9)
    vault.save("openai-codex:me@example.com", "openai-codex", login)
    token = TokenMaterial(Secret("sk-ant-oat01-imports"), expires_at=2e9)
    vault.save("anthropic:manual", "anthropic", token)
    State.open(state / "state.db").close()
    return env


@pytest.mark.parametrize("args", [(), ("--json",)], ids=["table", "json"])
def test_models_status_loads_only_what_it_shows(
    status_state: dict[str, str], args: tuple[str, ...]
) -> None:
    printed, modules = ran(run_cli("models", "status", *args), status_state)
    assert under(modules, NOT_FOR_STATUS) == []
    assert set(under(modules, ("clawgate.providers",))) <= PROVIDERS_FOR_STATUS
    if args:  # the status it printed is whole: every profile, each usable, the chain over them
        report = json.loads(printed)
        assert {p["profile"]: p["state"] for p in report["profiles"]} == {
            "anthropic:manual": "ok",
            "openai-codex:me@example.com": "ok",
            "openai:default": "ok",
        }
        assert [entry["ref"] for entry in report["chain"]] == [
            "openai-codex/gpt-5.5",
            "anthropic/claude-opus-4-7",
        ]
        assert report["gateway"] == {"running": False}
    else:
        assert "anthropic:manual" in printed
        assert "gateway: not running" in printed


def lazy_groups(group: click.Group = cli) -> Iterator[LazyGroup]:
    if isinstance(group, LazyGroup):
        yield group
    for command in group.commands.values():
        if isinstance(command, click.Group):
            yield from lazy_groups(command)


@pytest.mark.parametrize("group", list(lazy_groups()), ids=lambda g: g.name)
def test_each_table_line_is_the_commands_own(group: LazyGroup) -> None:
    """The line --help shows without importing a command is the one the command has."""
    for name, (_, _, line) in group.commands.table.items():
        assert group.commands[name].get_short_help_str(10_000) == line, name


def test_help_is_the_same_lazy_or_loaded(state_env: dict[str, str]) -> None:
    def help_of(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "--help"], obj=App(state_env), terminal_width=80)
        assert result.exit_code == 0, result.output
        return result.output

    # Fresh: nothing loaded, the lines come from the tables.
    script = (
        "from click.testing import CliRunner\n"
        "from clawgate.cli import cli\n"
        "for args in ([], ['models']):\n"
        "    print(CliRunner().invoke(cli, [*args, '--help'], terminal_width=80).output)\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    list(lazy_groups())  # loads every command
    assert fresh == f"{help_of()}\n{help_of('models')}\n"


def test_an_unknown_command_is_a_usage_error(state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["modles"], obj=App(state_env))
    assert result.exit_code == 2
    assert "No such command 'modles'" in result.output

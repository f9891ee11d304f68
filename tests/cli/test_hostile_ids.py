"""Every command that takes a name that becomes a file name or a key, given a hostile one:
exit 2, one line that names the allowed form, no traceback, and the vault and state.db
exactly as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.state import State
from tests.auth.openclaw_fixture import SEED, write_store

NON_UTF8 = os.fsdecode(b"openai:\xff")  # an undecodable argv, as Python hands it over

HOSTILE_IDS = {
    "long": "openai:" + "x" * 300,
    "long-file-name": "openai:" + "é" * 100,  # 100 characters: 607 bytes as a file name
    "non-utf8": NON_UTF8,
    "dot-dot": "../x",
    "slash": "a/b",
    "slash-in-name": "openai:../../vault/key",
    "nul": "openai:a\0b",
    "newline": "openai:a\nb",
    "empty": "",
    "reserved": "clawgate:gateway",
}
HOSTILE_PROVIDERS = {
    "empty": "",
    "upper-case": "OpenAI",
    "dot-dot": "../x",
    "nul": "a\0b",
    "non-utf8": os.fsdecode(b"\xff"),
    "long": "x" * 300,
}
HOSTILE_KEYS = {  # turn ids and session keys: not paths, but keys, headers and one line
    "long": "x" * 300,
    "non-utf8": os.fsdecode(b"\xff"),
    "nul": "a\0b",
    "newline": "a\nb",
    "empty": "",
}

Command = Callable[[str], tuple[list[str], str | None]]  # the value → (argv, stdin)

PROFILE_COMMANDS: dict[str, Command] = {
    "auth add": lambda v: (
        ["models", "auth", "add", "--provider", "openai", "--profile-id", v, "--api-key-stdin"],
        "sk-new-key",
    ),
    "auth login": lambda v: (
        ["models", "auth", "login", "--provider", "openai-codex", "--profile-id", v],
        None,
    ),
    "auth paste-token": lambda v: (
        ["models", "auth", "paste-token", "--provider", "anthropic", "--profile-id", v],
        "sk-ant-oat01-" + "Q" * 40,
    ),
    "auth logout": lambda v: (["models", "auth", "logout", v], None),
    "auth order set": lambda v: (
        ["models", "auth", "order", "set", "--provider", "openai", "openai:default", v],
        None,
    ),
    "status --probe-profile": lambda v: (
        ["models", "status", "--probe", "--probe-profile", v],
        None,
    ),
}
PROVIDER_COMMANDS: dict[str, Command] = {
    "auth add": lambda v: (["models", "auth", "add", "--provider", v, "--api-key-stdin"], "k"),
    "auth order get": lambda v: (["models", "auth", "order", "get", "--provider", v], None),
    "status --probe-provider": lambda v: (
        ["models", "status", "--probe", "--probe-provider", v],
        None,
    ),
}
KEY_COMMANDS: dict[str, tuple[Command, str]] = {
    "decisions --turn": (lambda v: (["models", "decisions", "--turn", v], None), "x-clawgate-turn"),
    "chat --session": (lambda v: (["chat", "--session", v, "hi"], None), "like work"),
}


def _snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and directory under ``root``: its mode, and a file's bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        found[str(path.relative_to(root))] = (
            stat.st_mode,
            path.read_bytes() if path.is_file() else None,
        )
    return found


@pytest.fixture(scope="module")
def state_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A state dir with something to lose: a stored profile, the gateway's token, state.db."""
    env = {"CLAWGATE_STATE_DIR": str(tmp_path_factory.mktemp("hostile") / "state")}
    added = invoke(env, ["models", "auth", "add", "--provider", "openai", "--api-key-stdin"], "k")
    assert added.exit_code == 0, added.stderr
    assert invoke(env, ["gateway", "token"]).exit_code == 0
    State.open(Path(env["CLAWGATE_STATE_DIR"]) / "state.db").close()
    return env


def invoke(env: dict[str, str], args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, obj=App(env), input=stdin)


def refused(env: dict[str, str], command: Command, value: str, form: str) -> None:
    state = Path(env["CLAWGATE_STATE_DIR"])
    before = _snapshot(state)
    args, stdin = command(value)
    result = invoke(env, args, stdin)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)  # rendered, not raised
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert " use " in lines[0]
    assert form in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _snapshot(state) == before


@pytest.mark.parametrize("value", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
@pytest.mark.parametrize("command", PROFILE_COMMANDS.values(), ids=PROFILE_COMMANDS.keys())
def test_hostile_profile_ids(state_env: dict[str, str], command: Command, value: str) -> None:
    refused(state_env, command, value, "like openai-codex:work")


@pytest.mark.parametrize("value", HOSTILE_PROVIDERS.values(), ids=HOSTILE_PROVIDERS.keys())
@pytest.mark.parametrize("command", PROVIDER_COMMANDS.values(), ids=PROVIDER_COMMANDS.keys())
def test_hostile_provider_ids(state_env: dict[str, str], command: Command, value: str) -> None:
    refused(state_env, command, value, "like openai or openai-codex")


@pytest.mark.parametrize("value", HOSTILE_KEYS.values(), ids=HOSTILE_KEYS.keys())
@pytest.mark.parametrize("name", KEY_COMMANDS)
def test_hostile_turn_ids_and_session_keys(
    state_env: dict[str, str], name: str, value: str
) -> None:
    command, form = KEY_COMMANDS[name]
    refused(state_env, command, value, form)


@pytest.mark.parametrize("provider", ["clawgate", "openai"])
def test_the_gateway_token_cannot_be_overwritten_as_a_profile(
    state_env: dict[str, str], provider: str
) -> None:
    token = invoke(state_env, ["gateway", "token"]).stdout
    add = ["models", "auth", "add", "--provider", provider, "--api-key-stdin", "--profile-id"]
    refused(state_env, lambda v: ([*add, v], "sk-evil"), "clawgate:gateway", "is reserved")
    assert invoke(state_env, ["gateway", "token"]).stdout == token


def test_provider_clawgate_has_no_default_profile(state_env: dict[str, str]) -> None:
    add = ["models", "auth", "add", "--api-key-stdin", "--provider"]
    refused(state_env, lambda v: ([*add, v], "sk-evil"), "clawgate", "'clawgate:default' is")


def test_an_undecodable_argv_in_a_real_process(state_env: dict[str, str]) -> None:
    """The bytes as a shell passes them, decoded by Python itself (PEP 383)."""
    state = Path(state_env["CLAWGATE_STATE_DIR"])
    before = _snapshot(state)
    for args in (
        [b"models", b"auth", b"logout", b"openai:\xff"],
        [
            b"models",
            b"auth",
            b"add",
            b"--provider",
            b"openai",
            b"--profile-id",
            b"openai:\xff",
            b"--api-key-stdin",
        ],
        [b"models", b"decisions", b"--turn", b"\xff" * 300],
    ):
        done = subprocess.run(
            [sys.executable.encode(), b"-m", b"clawgate", *args],
            env={**os.environ, **state_env},
            input=b"k",
            capture_output=True,
            check=False,
        )
        stderr = done.stderr.decode()
        assert done.returncode == 2, stderr
        assert len(stderr.splitlines()) == 1, stderr
        assert "(not UTF-8)" in stderr
        assert " use " in stderr
        assert "Traceback" not in stderr
    assert _snapshot(state) == before


def test_valid_odd_ids_still_work(state_env: dict[str, str]) -> None:
    """What was valid before stays valid: emails, spaces, non-ASCII, a name of dots."""
    for profile_id in ("openai:o'brien+x@example.com", "openai:a b%c", "openai:café", "openai:.."):
        args = ["models", "auth", "add", "--provider", "openai", "--profile-id", profile_id]
        added = invoke(state_env, [*args, "--api-key-stdin"], "sk-k")
        assert added.exit_code == 0, added.stderr
        listed = json.loads(invoke(state_env, ["models", "auth", "list", "--json"]).stdout)
        assert profile_id in [p["profile"] for p in listed["profiles"]]
        assert invoke(state_env, ["models", "auth", "logout", profile_id]).exit_code == 0


def test_an_openclaw_store_with_hostile_ids_imports_only_the_good_one(
    state_env: dict[str, str], tmp_path: Path
) -> None:
    """Ids from another tool's files are checked like typed ones, skipped with the reason;
    a sidecar reference that would climb out of its directory is never opened."""
    openclaw = tmp_path / "openclaw"
    climbing = "../" * 8 + "x" * 8  # 32 characters, as a real reference has
    assert len(climbing) == 32
    write_store(
        openclaw,
        "main",
        "{"
        '"clawgate:gateway": {"type": "api_key", "key": "sk-evil"},'
        '"openai:a/b": {"type": "api_key", "key": "sk-evil"},'
        '"openai:\\u001b[31mred": {"type": "api_key", "key": "sk-evil"},'
        '"openai-codex:climb": {"type": "oauth", "oauthRef": {"id": "' + climbing + '"}},'
        '"openai:fine": {"type": "api_key", "provider": "openai", "key": "sk-fine"}'
        "}",
    )
    token = invoke(state_env, ["gateway", "token"]).stdout
    args = ["import", "openclaw", "--state-dir", str(openclaw)]
    env = {**state_env, "OPENCLAW_AUTH_PROFILE_SECRET_KEY": SEED}
    shown = invoke(env, args)
    assert shown.exit_code == 0, shown.stderr
    assert all(line.isprintable() for line in shown.stdout.splitlines())  # no escapes
    assert "imported openai:fine" in shown.stdout
    assert "skipped  'openai:\\x1b[31mred': " in shown.stdout
    skipped = dict(line.split(": ", 1) for line in shown.stdout.splitlines() if "skipped" in line)
    assert "is reserved" in skipped["skipped  clawgate:gateway"]
    assert "is not a profile id" in skipped["skipped  openai:a/b"]
    assert skipped["skipped  openai-codex:climb"] == "its encrypted sidecar reference is malformed"
    assert invoke(state_env, ["gateway", "token"]).stdout == token
    assert invoke(state_env, ["models", "auth", "logout", "openai:fine"]).exit_code == 0

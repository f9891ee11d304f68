"""Every command that takes a provider refuses one clawgate does not know, with the nearest
known ids and the command that lists them, before anything is stored."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from clawgate.catalog import known
from clawgate.cli import App, cli
from clawgate.config import Paths


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env), input=stdin)


def configure(paths: Paths, *providers: str) -> None:
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    entries = {
        p: {"api": "openai-completions", "baseUrl": "http://127.0.0.1:9/v1"} for p in providers
    }
    paths.config_file.write_text(json.dumps({"models": {"providers": entries}}))


TAKES_A_PROVIDER = [
    ("models", "auth", "add", "--api-key-stdin", "--provider"),
    ("models", "auth", "paste-token", "--provider"),
    ("models", "auth", "login", "--no-browser", "--provider"),
    ("models", "auth", "order", "get", "--provider"),
    ("models", "auth", "order", "set", "opneai:default", "--provider"),
    ("models", "status", "--probe", "--probe-provider"),
    ("models", "list", "--provider"),
]


@pytest.mark.parametrize("command", TAKES_A_PROVIDER, ids=lambda c: " ".join(c[:-1]))
def test_a_misspelt_provider_is_refused_with_a_suggestion(
    state_env: dict[str, str], paths: Paths, command: tuple[str, ...]
) -> None:
    result = run(state_env, *command, "opneai", stdin="sk-not-stored\n")
    assert result.exit_code == 2, result.output
    assert "error: unknown provider 'opneai'; did you mean openai?" in result.stderr
    assert "clawgate models list --all" in result.stderr
    for provider in known():
        assert provider in result.stderr
    assert "Traceback" not in result.stderr
    assert not paths.vault_dir.exists()  # nothing stored under the wrong name
    assert not paths.config_file.exists()


def test_a_misspelt_configured_provider_is_suggested(
    state_env: dict[str, str], paths: Paths
) -> None:
    configure(paths, "ollama")
    before = paths.config_file.read_text()
    result = run(state_env, "models", "auth", "add", "--provider", "olama", "--api-key-stdin")
    assert result.exit_code == 2
    assert "did you mean ollama?" in result.stderr
    assert "ollama" in result.stderr.split("fix:")[1]
    assert paths.config_file.read_text() == before


def test_known_and_configured_providers_are_accepted(
    state_env: dict[str, str], paths: Paths
) -> None:
    configure(paths, "ollama")
    for provider in ("openai", "ollama"):
        result = run(
            state_env,
            "models",
            "auth",
            "add",
            "--provider",
            provider,
            "--api-key-stdin",
            stdin="sk-test-key\n",
        )
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith(f"stored {provider}:default")


def test_far_from_anything_lists_what_is_known(state_env: dict[str, str]) -> None:
    result = run(state_env, "models", "list", "--provider", "zzz")
    assert result.exit_code == 2
    assert "unknown provider 'zzz'" in result.stderr
    assert "did you mean" not in result.stderr
    assert "fix: use one of anthropic, github-copilot, local, openai" in result.stderr


def test_clearing_an_order_takes_a_provider_that_is_gone(state_env: dict[str, str]) -> None:
    result = run(state_env, "models", "auth", "order", "clear", "--provider", "removed")
    assert "unknown provider" not in result.stderr

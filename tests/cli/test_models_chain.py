"""`models set`, `models fallbacks …`, `models aliases …`: each edits clawgate.json under its
lock, keeps the text before as clawgate.json.bak, and refuses a ref that does not resolve
with the nearest refs it knows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import DEFAULT_PRIMARY, Paths, load_config


def models(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["models", *args], obj=App(env))


def chain(paths: Paths) -> list[str]:
    model = load_config(paths.config_file, {}).settings.agents.defaults.model
    return [model.primary, *model.fallbacks]


def aliases(paths: Paths) -> dict[str, str]:
    options = load_config(paths.config_file, {}).settings.agents.defaults.models
    return {o.alias: ref for ref, o in options.items() if o.alias}


@pytest.fixture
def setup_done(state_env: dict[str, str], paths: Paths) -> Paths:
    assert CliRunner().invoke(cli, ["setup"], obj=App(state_env)).exit_code == 0
    return paths


def test_set_makes_the_primary_and_keeps_a_backup(
    state_env: dict[str, str], setup_done: Paths
) -> None:
    before = setup_done.config_file.read_text()
    result = models(state_env, "set", "openai/gpt-4.1-mini", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :]) == {
        "primary": "openai/gpt-4.1-mini",
        "previous": DEFAULT_PRIMARY,
    }
    assert chain(setup_done) == ["openai/gpt-4.1-mini"]
    assert setup_done.config_file.with_name("clawgate.json.bak").read_text() == before


def test_a_fallback_made_primary_leaves_the_fallbacks(
    state_env: dict[str, str], setup_done: Paths
) -> None:
    assert models(state_env, "fallbacks", "add", "anthropic/claude-sonnet-4-5").exit_code == 0
    assert models(state_env, "set", "anthropic/claude-sonnet-4-5").exit_code == 0
    assert chain(setup_done) == ["anthropic/claude-sonnet-4-5"]


@pytest.mark.parametrize(
    ("ref", "hint"),
    [
        ("opnai/gpt-4.1-mini", "did you mean openai/gpt-4.1-mini?"),
        ("anthropc/claude-sonnet-4-5", "did you mean anthropic/claude-sonnet-4-5?"),
        ("gpt", "provider/model"),
        ("OpenAI/gpt-4.1-mini", "did you mean 'openai/gpt-4.1-mini'?"),
    ],
)
def test_a_ref_that_does_not_resolve_is_refused_and_nothing_changes(
    state_env: dict[str, str], setup_done: Paths, ref: str, hint: str
) -> None:
    before = setup_done.config_file.read_text()
    for args in (["set", ref], ["fallbacks", "add", ref], ["aliases", "add", "x", ref]):
        result = models(state_env, *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert hint in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert setup_done.config_file.read_text() == before
    assert not setup_done.config_file.with_name("clawgate.json.bak").exists()


def test_fallbacks_add_at_remove_and_clear(state_env: dict[str, str], setup_done: Paths) -> None:
    assert models(state_env, "fallbacks", "add", "anthropic/claude-sonnet-4-5").exit_code == 0
    assert models(state_env, "fallbacks", "add", "openai/gpt-4.1-mini", "--at", "1").exit_code == 0
    assert chain(setup_done) == [
        DEFAULT_PRIMARY,
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
    ]
    listed = json.loads(models(state_env, "fallbacks", "list", "--json").stdout)
    assert listed == {"primary": DEFAULT_PRIMARY, "fallbacks": chain(setup_done)[1:]}

    again = models(state_env, "fallbacks", "add", "openai/gpt-4.1-mini")
    assert again.exit_code == 0
    assert "is fallback 1 already" in again.stdout
    primary = models(state_env, "fallbacks", "add", DEFAULT_PRIMARY)
    assert primary.exit_code == 2
    assert "is the primary model" in primary.stderr
    too_far = models(state_env, "fallbacks", "add", "openai-codex/gpt-5-codex", "--at", "9")
    assert too_far.exit_code == 2
    assert "N is 1 to 3" in too_far.stderr

    missing = models(state_env, "fallbacks", "remove", "openai/gpt-4.1-mni")
    assert missing.exit_code == 2
    assert "did you mean openai/gpt-4.1-mini?" in missing.stderr
    assert models(state_env, "fallbacks", "remove", "openai/gpt-4.1-mini").exit_code == 0
    assert chain(setup_done) == [DEFAULT_PRIMARY, "anthropic/claude-sonnet-4-5"]
    assert models(state_env, "fallbacks", "clear").exit_code == 0
    assert chain(setup_done) == [DEFAULT_PRIMARY]


def test_aliases_add_move_use_and_remove(state_env: dict[str, str], setup_done: Paths) -> None:
    assert models(state_env, "aliases", "add", "fast", "openai/gpt-4.1-mini").exit_code == 0
    assert aliases(setup_done) == {"fast": "openai/gpt-4.1-mini"}
    # An alias is a ref wherever one is taken, and resolves to its model.
    assert models(state_env, "set", "fast").exit_code == 0
    assert chain(setup_done) == ["openai/gpt-4.1-mini"]
    moved = models(state_env, "aliases", "add", "fast", "anthropic/claude-sonnet-4-5")
    assert moved.exit_code == 0
    assert "(was openai/gpt-4.1-mini)" in moved.stdout
    assert aliases(setup_done) == {"fast": "anthropic/claude-sonnet-4-5"}
    listed: dict[str, Any] = json.loads(models(state_env, "aliases", "list", "--json").stdout)
    assert listed == {"aliases": {"fast": "anthropic/claude-sonnet-4-5"}}

    for bad in ("a/b", "tab\there"):
        refused = models(state_env, "aliases", "add", bad, "openai/gpt-4.1-mini")
        assert refused.exit_code == 2
        assert "cannot be an alias" in refused.stderr
    unknown = models(state_env, "aliases", "remove", "fats")
    assert unknown.exit_code == 2
    assert "did you mean fast?" in unknown.stderr
    assert models(state_env, "aliases", "remove", "fast").exit_code == 0
    assert aliases(setup_done) == {}


def test_the_commands_work_before_setup_too(state_env: dict[str, str], paths: Paths) -> None:
    assert not paths.config_file.exists()
    assert models(state_env, "set", "openai/gpt-4.1-mini").exit_code == 0
    assert chain(paths) == ["openai/gpt-4.1-mini"]

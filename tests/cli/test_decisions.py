"""`clawgate models decisions` reads back what `clawgate chat` recorded in state.db."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import Paths


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env))


def test_a_fallback_turn_is_shown_attempt_by_attempt(
    state_env: dict[str, str], paths: Paths, tmp_path: Path
) -> None:
    paths.state_dir.mkdir(parents=True)
    missing = tmp_path / "gone.gguf"
    paths.config_file.write_text(
        '{agents: {defaults: {model: {primary: "local/gone", fallbacks: ["local/smollm2-135m"]}}},'
        f' models: {{providers: {{local: {{models: [{{id: "gone", path: "{missing}"}}]}}}}}}}}'
    )
    chat = invoke(state_env, "chat", "Hi", "--max-tokens", "3")
    assert chat.exit_code == 0, chat.stderr
    assert "fallback after local/gone: unavailable" in chat.stderr

    shown = invoke(state_env, "models", "decisions", "--json")
    assert shown.exit_code == 0
    (turn,) = json.loads(shown.stdout)
    assert (turn["outcome"], turn["model"], turn["fallback"]) == (
        "succeeded",
        "local/smollm2-135m",
        True,
    )
    assert [(a["candidate"], a["decision"], a["reason"], a["next"]) for a in turn["attempts"]] == [
        ("local/gone", "failed", "unavailable", "local/smollm2-135m"),
        ("local/smollm2-135m", "succeeded", None, None),
    ]

    one = invoke(state_env, "models", "decisions", "--turn", turn["turn_id"])
    assert one.exit_code == 0
    assert turn["turn_id"] in one.stdout
    assert "failed" in one.stdout
    assert "local/smollm2-135m" in one.stdout


def test_nothing_recorded_yet(state_env: dict[str, str]) -> None:
    result = invoke(state_env, "models", "decisions")
    assert result.exit_code == 0
    assert result.stdout == "no turns recorded yet\n"


def test_an_unknown_turn_is_a_user_error(state_env: dict[str, str]) -> None:
    assert invoke(state_env, "chat", "Hi", "--max-tokens", "2").exit_code == 0
    result = invoke(state_env, "models", "decisions", "--turn", "nope")
    assert result.exit_code == 2
    assert "no turn 'nope'" in result.stderr
    assert "Traceback" not in result.stderr

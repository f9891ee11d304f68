"""`clawgate chat` through click's runner, answered by the real embedded model."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.config import Paths
from tests.fakes.model_api import FakeModelAPI


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(cli, ["chat", *args], obj=App(env), input=stdin)


def write_config(paths: Paths, text: str) -> None:
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text(text)


def test_one_shot_streams_the_answer_and_names_the_model(state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["chat", "Say hello.", "--max-tokens", "10"], obj=App(state_env)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()
    assert result.stdout.endswith("\n")
    assert "— local/smollm2-135m (local:default)" in result.stderr


def test_interactive_keeps_going_until_exit(state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["chat", "--max-tokens", "5"], obj=App(state_env), input="Hi!\n\nAnd again?\n/exit\n"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("you> ") == 4
    assert result.stderr.count("— local/smollm2-135m") == 2


def test_interactive_ends_at_end_of_input(state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["chat"], obj=App(state_env), input="")
    assert result.exit_code == 0
    assert "local/smollm2-135m" not in result.stderr


def test_bad_config_exits_78_with_its_location(state_env: dict[str, str], paths: Paths) -> None:
    write_config(paths, '{\n  gateway: { port: "high" },\n}')
    result = CliRunner().invoke(cli, ["chat", "hi"], obj=App(state_env))
    assert result.exit_code == 78
    assert f"{paths.config_file}:2:14: gateway.port: expected a valid integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_keys_warn_but_the_turn_is_answered(
    state_env: dict[str, str], paths: Paths
) -> None:
    write_config(paths, "{gateway: {prot: 1}}")
    result = CliRunner().invoke(cli, ["chat", "Hi", "--max-tokens", "3"], obj=App(state_env))
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr
    assert "gateway.prot: unknown key (ignored); did you mean 'port'?" in result.stderr


def test_a_missing_model_file_is_an_error_not_a_traceback(
    state_env: dict[str, str], paths: Paths, tmp_path: Path
) -> None:
    missing = tmp_path / "m.gguf"
    write_config(
        paths,
        '{agents: {defaults: {model: "local/mine"}},'
        f' models: {{providers: {{local: {{models: [{{id: "mine", path: "{missing}"}}]}}}}}}}}',
    )
    result = CliRunner().invoke(cli, ["chat", "hi"], obj=App(state_env))
    assert result.exit_code == 1
    assert f"local model file not found: {missing}" in result.stderr
    assert "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_model_ref_is_a_usage_error(state_env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["chat", "hi", "--model", "smollm"], obj=App(state_env))
    assert result.exit_code == 2
    assert "neither provider/model nor an alias" in result.stderr


def test_a_session_key_carries_the_history_across_runs(
    state_env: dict[str, str], paths: Paths, api: FakeModelAPI
) -> None:
    write_config(
        paths,
        json.dumps(
            {
                "models": {
                    "providers": {
                        "up": {"api": "openai-completions", "baseUrl": f"{api.url}/up/v1"}
                    }
                }
            }
        ),
    )
    for text in ("My name is Ada.", "What is my name?"):
        result = run(state_env, text, "--model", "up/m", "--session", "s1")
        assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    first, second = api.paths("/up/")
    assert [m["content"] for m in first.body["messages"]] == ["My name is Ada."]
    assert [m["content"] for m in second.body["messages"]] == [
        "My name is Ada.",
        "Hello there",
        "What is my name?",
    ]


def test_an_image_goes_with_the_message(
    state_env: dict[str, str], paths: Paths, api: FakeModelAPI, tmp_path: Path
) -> None:
    sees = {"api": "openai-completions", "baseUrl": f"{api.url}/up/v1"}
    sees["models"] = [{"id": "m", "input": ["text", "image"]}]  # type: ignore[assignment]
    write_config(paths, json.dumps({"models": {"providers": {"up": sees}}}))
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run(state_env, "What is this?", "--model", "up/m", "--image", str(picture))
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    content = api.paths("/up/")[-1].body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="


def test_an_image_for_a_model_that_cannot_see_is_refused_plainly(
    state_env: dict[str, str], tmp_path: Path
) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run(state_env, "What is this?", "--image", str(picture))
    assert result.exit_code != 0
    assert "local/smollm2-135m cannot take image" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]


def test_a_file_that_is_not_an_image_is_a_usage_error(
    state_env: dict[str, str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = run(state_env, "Read this", "--image", str(notes))
    assert result.exit_code == 2
    assert "is not an image" in result.stderr  # type: ignore[attr-defined]

"""The chat commands the terminal and Telegram share, as text from the settings."""

from __future__ import annotations

from clawgate.config import Settings
from clawgate.runtime import (
    COMMANDS,
    Command,
    choose_model,
    help_text,
    known_models,
    message_text,
    parse_command,
)


def settings() -> Settings:
    return Settings.model_validate(
        {
            "agents": {
                "defaults": {
                    "model": {"primary": "local/smollm2-135m", "fallbacks": ["openai/gpt-4.1"]},
                    "models": {"openai/gpt-4.1": {"alias": "smart"}},
                }
            }
        }
    )


def test_a_slash_line_is_a_command_and_a_double_slash_a_message() -> None:
    assert parse_command("/model  openai/gpt-4.1 ") == Command("model", "openai/gpt-4.1")
    assert parse_command("/HELP") == Command("help", "")
    assert parse_command("/help@clawbot") == Command("help", "")
    assert parse_command("hello /there") is None
    assert parse_command("//etc/hosts is a file") is None
    assert message_text("//etc/hosts is a file") == "/etc/hosts is a file"


def test_help_lists_the_asked_commands_in_order_with_a_channels_own() -> None:
    text = help_text(["exit", "help", "model"], extra={"usage": ("", "windows and tokens")})
    assert text.splitlines() == [
        f"/help — {COMMANDS['help'][1]}",
        f"/model [REF] — {COMMANDS['model'][1]}",
        f"/exit — {COMMANDS['exit'][1]}",
        "/usage — windows and tokens",
    ]


def test_model_shows_pins_and_unpins() -> None:
    config = settings()
    shown = choose_model(config, None, "")
    assert shown.text == "chain local/smollm2-135m → openai/gpt-4.1"
    assert shown.pin is None
    pinned = choose_model(config, None, "smart")
    assert pinned.pin == "smart"
    assert choose_model(config, "smart", "").text == (
        "pinned to smart; chain smart → local/smollm2-135m → openai/gpt-4.1"
    )
    assert choose_model(config, "smart", "default").pin is None


def test_model_refuses_what_is_not_a_model_and_keeps_the_pin() -> None:
    refused = choose_model(settings(), "smart", "gpt4")
    assert refused.pin == "smart"
    assert refused.text.startswith("not a model: model 'gpt4' is neither provider/model")
    assert "smart" in refused.text  # the known ones are listed


def test_known_models_adds_a_channels_chain() -> None:
    assert known_models(settings()) == {"local/smollm2-135m", "openai/gpt-4.1", "smart"}
    assert "anthropic/x" in known_models(settings(), "anthropic/x")

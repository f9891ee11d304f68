"""A JSON5 syntax error names the character as a person reads it (not ``U+0067``), where it
is, and shows its line with a caret under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawgate.config import ConfigError, parse_config

SOURCE = Path("/etc/clawgate.json")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source=SOURCE, env={})
    return caught.value.message


def test_extra_text_after_the_config_is_named_and_pointed_at() -> None:
    message = error_of('{\n  gateway: { port: 1 },\n}\ngarbage: "here"\n')
    first, *shown = message.splitlines()
    assert first == f"{SOURCE}:4:1: not valid JSON5: unexpected 'g' after the end of the config"
    assert "U+" not in message
    assert shown == ['  4 | garbage: "here"', "    | ^"]


def test_a_missing_comma_is_suggested_at_the_line_before() -> None:
    message = error_of("{\n  gateway: { port: 1 }\n  agents: {}\n}")
    first, line, caret = message.splitlines()
    assert first == (
        f"{SOURCE}:3:3: not valid JSON5: Expected comma or '}}', found 'a' "
        "(a comma missing at the end of line 2?)"
    )
    assert line == "  3 |   agents: {}"
    assert caret == "    |   ^"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{a: 1,,}", "Stray comma"),
        ("{a: }", "Expected a value, found '}'"),
        ("{a:\x01}", "found U+0001"),  # invisible: still named by its code point
        ('{a: "x', "Unclosed string"),
    ],
)
def test_each_syntax_error_reads_as_words(text: str, said: str) -> None:
    message = error_of(text)
    assert said in message.splitlines()[0]
    assert "b'" not in message
    assert message.splitlines()[-1].endswith("^")

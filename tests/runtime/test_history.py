from __future__ import annotations

from clawgate.providers import Message
from clawgate.runtime import fit


def test_without_a_known_context_nothing_is_cut() -> None:
    messages = tuple(Message("user", "x" * 10_000) for _ in range(10))
    assert fit(messages, None, None) == messages


def test_system_messages_stay_and_the_newest_fit() -> None:
    messages = (
        Message("system", "Be brief."),
        *(Message("user", f"{i}" + "x" * 400) for i in range(10)),
    )
    kept = fit(messages, 600, 100)  # room for about 500 tokens: four messages of ~105
    assert kept[0] == Message("system", "Be brief.")
    assert [m.content[0] for m in kept[1:]] == ["6", "7", "8", "9"]


def test_the_newest_message_goes_even_when_it_alone_is_too_long() -> None:
    huge = Message("user", "x" * 100_000)
    assert fit((Message("user", "old"), huge), 1000, 100) == (huge,)

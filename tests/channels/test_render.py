"""Markdown → Telegram HTML, and the cut into messages (`channels.telegram._render`)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from clawgate.channels.telegram import MAX_CHARS, render
from clawgate.channels.telegram._render import units

TELEGRAM_TAGS = {"b", "i", "s", "u", "code", "pre", "a", "blockquote"}


class _Check(HTMLParser):
    """Telegram's rules: known tags only, balanced, entities only &lt; &gt; &amp; &quot;."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, tag
        assert self.stack.pop() == tag, tag

    def handle_entityref(self, name: str) -> None:
        assert name in ("lt", "gt", "amp", "quot"), name


def valid(markup: str) -> None:
    assert not re.search(r"&(?!lt;|gt;|amp;|quot;)", markup), markup
    check = _Check()
    check.feed(markup)
    check.close()
    assert check.stack == [], markup


def test_markdown_becomes_escaped_telegram_html() -> None:
    (part,) = render(
        "# Title\n\nSome **bold**, *italic*, ~~gone~~ and `a<b>` & "
        "[a link](https://example.com/?a=1&b=2)\n\n"
        "```python\nif a < b and c > d:\n    pass\n```\n\n- one\n- snake_case_name\n> quoted <x>"
    )
    assert part.html == (
        "<b>Title</b>\n\nSome <b>bold</b>, <i>italic</i>, <s>gone</s> and "
        '<code>a&lt;b&gt;</code> &amp; <a href="https://example.com/?a=1&amp;b=2">a link</a>'
        '\n\n<pre><code class="language-python">if a &lt; b and c &gt; d:\n    pass</code></pre>'
        "\n\n• one\n• snake_case_name\n<blockquote>quoted &lt;x&gt;</blockquote>"
    )
    valid(part.html)
    assert part.plain == html.unescape(re.sub(r"<[^>]+>", "", part.html))


def test_an_unclosed_fence_is_still_code_and_a_footer_is_italic() -> None:
    (part,) = render("look:\n\n```\n<tag>", footer="— alt/m (alt:default)")
    assert (
        part.html == "look:\n\n<pre><code>&lt;tag&gt;</code></pre>\n\n<i>— alt/m (alt:default)</i>"
    )


def test_long_answers_are_cut_at_paragraphs_and_code_blocks() -> None:
    paragraphs = [f"p{i} " + "word " * 300 for i in range(8)]  # ~1,500 characters each
    code = "```\n" + "\n".join(f"line {i} <" for i in range(600)) + "\n```"
    parts = render("\n\n".join(paragraphs) + "\n\n" + code)
    assert [units(p.plain) <= MAX_CHARS for p in parts] == [True] * len(parts)
    for i in range(8):  # no paragraph is cut: each sits whole in one message
        assert sum(f"p{i} " in p.plain for p in parts) == 1
    code_parts = [p for p in parts if "<pre>" in p.html]
    assert len(code_parts) >= 2
    assert all(p.html.startswith("<pre><code>") for p in code_parts)
    for p in parts:
        valid(p.html)


def test_a_cut_never_splits_a_surrogate_pair() -> None:
    parts = render("😀" * 5000)  # 2 UTF-16 units each
    assert [units(p.plain) for p in parts] == [4096, 4096, 1808]
    assert "".join(p.plain for p in parts) == "😀" * 5000


_PIECES = [*"ab <>&\"'*_~`#->[]()\n😀é", "```", "**", "\n\n", "http://x", "[l](https://e.x/?a&b)"]
_text = st.lists(st.sampled_from(_PIECES), max_size=300).map(lambda xs: "".join(xs) * 30)


@settings(max_examples=60, deadline=None)
@given(_text)
def test_any_text_renders_to_valid_messages_that_lose_nothing(text: str) -> None:
    parts = render(text)
    whole = render(text, limit=10**9)
    for part in parts:
        valid(part.html)
        assert units(part.plain) <= MAX_CHARS
        assert html.unescape(re.sub(r"<[^>]+>", "", part.html)) == part.plain
    squeeze = re.compile(r"\s+")
    joined = squeeze.sub("", "".join(p.plain for p in parts))
    assert joined == squeeze.sub("", "".join(p.plain for p in whole))

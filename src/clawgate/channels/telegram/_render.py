"""An answer's Markdown as Telegram HTML, in messages Telegram takes.

Telegram's HTML (Bot API, "Formatting options") knows ``b i u s code pre a blockquote``; the
text between tags must escape ``< > &`` (and ``"`` inside an attribute), anything else is a
400 "can't parse entities". A message holds at most 4,096 characters after the entities are
parsed ("sendMessage": text, 1-4096 characters), counted here in UTF-16 code units as
Telegram counts entity offsets, which is never fewer than the characters.

An answer is cut into blocks (paragraphs, fenced code), each rendered on its own so that no
tag ever spans two messages, and the blocks are packed into messages; a block longer than a
message is cut at line, then word, boundaries (a code block stays a code block in each part).
Each `Part` has its plain text as well, sent instead when Telegram refuses the HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["MAX_CHARS", "Part", "plain_of", "render", "units"]

MAX_CHARS = 4096

_FENCE = re.compile(r"^ {0,3}(```|~~~)\s*([\w+#.-]*)\s*$")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Part:
    html: str
    plain: str


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def plain_of(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def render(markdown: str, *, footer: str | None = None, limit: int = MAX_CHARS) -> list[Part]:
    """``markdown`` (and a footer line, in italics) as the messages to send, in order."""
    blocks = [b for b in _blocks(markdown) if b.plain.strip()]
    if footer:
        blocks.append(Part(f"<i>{_escape(footer)}</i>", footer))
    pieces: list[Part] = []
    for block in blocks:
        pieces.extend(_fit(block, limit))
    return _pack(pieces, limit) or [Part("…", "…")]


# Blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Code:
    lang: str
    lines: list[str]


def _blocks(markdown: str) -> list[Part]:
    """Paragraphs and code blocks, each rendered."""
    out: list[Part] = []
    paragraph: list[str] = []
    code: _Code | None = None
    fence = ""

    def flush() -> None:
        if paragraph:
            out.append(_paragraph(paragraph))
            paragraph.clear()

    for line in markdown.replace("\r\n", "\n").split("\n"):
        opened = _FENCE.match(line)
        if code is not None:
            if opened and opened.group(1) == fence and not opened.group(2):
                out.append(_code_part(code.lang, code.lines))
                code = None
            else:
                code.lines.append(line)
            continue
        if opened:
            flush()
            code, fence = _Code(opened.group(2), []), opened.group(1)
        elif not line.strip():
            flush()
        else:
            paragraph.append(line)
    if code is not None:  # an unclosed fence (a cut answer): still code
        out.append(_code_part(code.lang, code.lines))
    flush()
    return out


def _code_part(lang: str, lines: list[str]) -> Part:
    body = "\n".join(lines)
    attr = f' class="language-{_escape(lang, quote=True)}"' if lang else ""
    return Part(f"<pre><code{attr}>{_escape(body)}</code></pre>", body)


def _paragraph(lines: list[str]) -> Part:
    rendered: list[str] = []
    quoted: list[str] = []

    def end_quote() -> None:
        if quoted:
            rendered.append(f"<blockquote>{chr(10).join(quoted)}</blockquote>")
            quoted.clear()

    for line in lines:
        if line.lstrip().startswith(">"):
            quoted.append(_inline(line.lstrip()[1:].lstrip()))
            continue
        end_quote()
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            rendered.append(f"<b>{_inline(heading.group(1))}</b>")
            continue
        bullet = re.match(r"^(\s*)[-*+]\s+(.*)$", line)
        if bullet:
            rendered.append(f"{bullet.group(1)}• {_inline(bullet.group(2))}")
            continue
        rendered.append(_inline(line))
    end_quote()
    markup = "\n".join(rendered)
    return Part(markup, plain_of(markup))


# Inline ------------------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+|tg://[^\s)]+|mailto:[^\s)]+)\)")
_STYLES = (
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), "b"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), "b"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), "s"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), "i"),
    (re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"), "i"),
)


def _escape(text: str, *, quote: bool = False) -> str:
    return html.escape(text, quote=quote)


def _inline(text: str) -> str:
    """One line: `code` spans kept literal, the rest escaped, then links and emphasis."""
    out: list[str] = []
    for i, piece in enumerate(re.split(r"(`[^`\n]+`)", text)):
        if i % 2:
            out.append(f"<code>{_escape(piece[1:-1])}</code>")
        else:
            out.append(_styled(piece))
    return "".join(out)


def _styled(text: str) -> str:
    links: list[str] = []

    def link(m: re.Match[str]) -> str:
        links.append(f'<a href="{_escape(m.group(2), quote=True)}">{_escape(m.group(1))}</a>')
        return f"\x00{len(links) - 1}\x00"

    escaped = _escape(_LINK.sub(link, text.replace("\x00", "")))
    marked = escaped
    for pattern, tag in _STYLES:
        marked = pattern.sub(lambda m, t=tag: f"<{t}>{m.group(1)}</{t}>", marked)  # type: ignore[misc]
    if not _nested(marked):  # emphasis markers that cross ("**a *b** c*"): leave them be
        marked = escaped
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], marked)


def _nested(markup: str) -> bool:
    """Whether the tags in ``markup`` close in the order they opened (Telegram requires it)."""
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)(\w+)>", markup):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


# Fitting into messages ---------------------------------------------------------------------


def _fit(block: Part, limit: int) -> list[Part]:
    """``block`` as it is, or cut into pieces no longer than ``limit``."""
    if units(block.plain) <= limit:
        return [block]
    code = re.fullmatch(r'<pre><code( class="[^"]*")?>(.*)</code></pre>', block.html, re.S)
    if code:
        attr = code.group(1) or ""
        return [
            Part(f"<pre><code{attr}>{_escape(chunk)}</code></pre>", chunk)
            for chunk in _cut(block.plain, limit)
        ]
    # Inline markup cannot be cut safely: the pieces go as text, escaped.
    return [Part(_escape(chunk), chunk) for chunk in _cut(block.plain, limit)]


def _cut(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` units: at a line end, else a space, else
    anywhere (never inside a surrogate pair)."""
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        head = _prefix(rest, limit)
        at = head.rfind("\n")
        if at <= 0:
            at = head.rfind(" ")
        if at <= 0:
            at = len(head)
        pieces.append(rest[:at])
        rest = rest[at:].lstrip("\n ") if at < len(head) else rest[at:]
    if rest:
        pieces.append(rest)
    return pieces


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` units."""
    count = 0
    for i, char in enumerate(text):
        count += 2 if ord(char) > 0xFFFF else 1
        if count > limit:
            return text[:i]
    return text


def _pack(pieces: list[Part], limit: int) -> list[Part]:
    """Consecutive pieces joined by a blank line while the message stays within ``limit``."""
    parts: list[Part] = []
    for piece in pieces:
        if parts:
            last = parts[-1]
            joined = Part(f"{last.html}\n\n{piece.html}", f"{last.plain}\n\n{piece.plain}")
            if units(joined.plain) <= limit:
                parts[-1] = joined
                continue
        parts.append(piece)
    return parts

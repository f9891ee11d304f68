"""Every link in the README and docs/ leads somewhere a clone has.

A relative link, and a repository path named in a code span (`src/clawgate/clock.py`), must
exist inside the repository; a ``#section`` must be a heading of its page, by GitHub's slugs;
a Markdown file named in the text must be one the repository has (a clone has no
``../shared/design/ROUTING.md``). External links are not checked. A problem is reported as
``page:line: target: why``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"  # the text, one level of brackets inside
    r"\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"  # (target "title")
)
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)", re.M)
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.I)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:name|id)=\"([^\"]+)\"", re.I)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# A code span that is a relative path and nothing else (no spaces, globs or placeholders).
_PATH_SPAN = re.compile(r"[\w.@+-]+(?:/[\w.@+-]*)+")
_MD_NAME = re.compile(r"(?<![\w/.-])([\w.-]*\w\.md)\b")


@dataclass(frozen=True)
class Problem:
    page: str
    line: int
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.target}: {self.why}"


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text, lower case, without punctuation
    (hyphens and underscores stay), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _prose(text: str) -> str:
    """``text`` with fenced code blocks blanked; offsets (and so line numbers) are kept."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
        else:
            out.append(line)
            continue
        out.append(re.sub(r"[^\n]", " ", line))
    return "".join(out)


def anchors(text: str) -> set[str]:
    """Every ``#section`` a page has: its headings' slugs (a repeated one gets ``-1``, ``-2``,
    as on GitHub) and explicit ``<a name|id>`` anchors."""
    fenced = _prose(text)
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in _HEADING.finditer(fenced):
        base = slug(match.group(1).strip())
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found.update(m.group(1) for m in _HTML_ANCHOR.finditer(_without_code(fenced)[0]))
    return found


def _without_code(prose: str) -> tuple[str, list[tuple[int, str]]]:
    """The prose with code spans blanked, and the spans (offset, content) that were there."""
    spans: list[tuple[int, str]] = []

    def blank(match: re.Match[str]) -> str:
        if "\n\n" in match.group(0):  # a span never crosses a paragraph
            return match.group(0)
        spans.append((match.start(2), match.group(2).strip()))
        return re.sub(r"[^\n]", " ", match.group(0))

    return _CODE_SPAN.sub(blank, prose), spans


def _ignored(root: Path) -> set[str]:
    """Top-level names .gitignore keeps out of a clone (``.venv``, ``node_modules``)."""
    try:
        lines = (root / ".gitignore").read_text().splitlines()
    except FileNotFoundError:
        return {".git"}
    return {".git", *(ln.strip().strip("/") for ln in lines if ln.strip() and ln[0] != "#")}


def references(text: str, root: Path) -> Iterator[tuple[int, str, str]]:
    """(offset, kind, target) of every reference to check: ``link``s, repository ``path``s in
    code spans, and Markdown file ``name``s in the prose or alone in a code span. Fenced code
    is not read: it shows commands and files of other places."""
    prose, spans = _without_code(_prose(text))
    for pattern in (_LINK, _DEFINITION, _HTML_LINK):
        for match in pattern.finditer(prose):
            yield match.start(1), "link", match.group(1).strip("<>")
    ignored = _ignored(root)
    for offset, span in spans:
        first = span.split("/", 1)[0]
        if _PATH_SPAN.fullmatch(span) and first not in ignored and (root / first).is_dir():
            yield offset, "path", span
        elif _MD_NAME.fullmatch(span):
            yield offset, "name", span
    for match in _MD_NAME.finditer(prose):
        yield match.start(1), "name", match.group(1)


def _markdown_names(root: Path) -> set[str]:
    ignored = _ignored(root)
    names: set[str] = set()
    for _folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ignored and not d.startswith(".")]
        names.update(f for f in files if f.endswith(".md"))
    return names


def problems(page: Path, root: Path = ROOT) -> list[Problem]:
    text = page.read_text(encoding="utf-8")
    names = _markdown_names(root)
    found: list[Problem] = []
    for offset, kind, target in references(text, root):
        if kind == "name":
            why = None if target in names else "this repository has no Markdown file of that name"
        else:
            why = _missing(page, root, target, relative_to=root if kind == "path" else page.parent)
        if why is not None:
            line = text.count("\n", 0, offset) + 1
            found.append(Problem(page.relative_to(root).as_posix(), line, target, why))
    return found


def _missing(page: Path, root: Path, target: str, *, relative_to: Path) -> str | None:
    """What is wrong with a link or path ``target``, or None when it leads somewhere."""
    if _SCHEME.match(target):
        return None  # external: http(s), mailto
    path, _, anchor = target.partition("#")
    path = unquote(path)
    if path.startswith("/"):
        return "an absolute path: link relative to the page"
    resolved = Path(os.path.normpath(relative_to / path)) if path else page
    if not resolved.is_relative_to(root):
        return "outside the repository: a clone does not have it"
    if not resolved.exists():
        return "does not exist in the repository"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
        return f"{resolved.relative_to(root).as_posix()} has no heading #{anchor}"
    return None


# The repository's own pages ------------------------------------------------------------------


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_and_path_of_the_page_exists(page: Path) -> None:
    found = problems(page)
    assert not found, "\n".join(map(str, found))


def test_the_readme_links_the_design_documents() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = {t for _, kind, t in references(readme, ROOT) if kind == "link"}
    for name in ("architecture", "configuration", "auth", "routing", "cli", "style"):
        assert f"docs/{name}.md" in linked, name


# The checker, on pages made for it -----------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "there.py").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".gitignore").write_text(".venv/\n# a comment\n")
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## The gateway's API\n\n## Twice\n")
    return tmp_path


def _found(repo: Path, text: str, name: str = "README.md") -> list[str]:
    page = repo / name
    page.write_text(text)
    return [str(p) for p in problems(page, repo)]


def test_a_missing_target_is_named_with_its_page_and_line(repo: Path) -> None:
    text = "# Title\n\nSee [the other page](docs/other.md) and\n[a lost one](docs/lost.md).\n"
    assert _found(repo, text) == ["README.md:4: docs/lost.md: does not exist in the repository"]


def test_a_link_out_of_the_repository_fails(repo: Path) -> None:
    text = (
        "[design](../shared/design/)\n"
        "[deeper](docs/../../elsewhere.md)\n"
        "[absolute](/etc/hosts)\n"
        "[ref]: ../shared/design/ROUTING.md\n"
    )
    outside = "outside the repository: a clone does not have it"
    assert sorted(_found(repo, text)) == [
        f"README.md:1: ../shared/design/: {outside}",
        f"README.md:2: docs/../../elsewhere.md: {outside}",
        "README.md:3: /etc/hosts: an absolute path: link relative to the page",
        f"README.md:4: ../shared/design/ROUTING.md: {outside}",
    ]


def test_anchors_are_checked_against_github_slugs(repo: Path) -> None:
    text = (
        "# Here\n\n## Twice\n\n## Twice\n\n"
        "[a](docs/other.md#the-gateways-api) [b](#twice-1) [c](#here)\n"
        "[d](docs/other.md#the-gateway-api) [e](#twice-2)\n"
    )
    assert sorted(_found(repo, text)) == [
        "README.md:8: #twice-2: README.md has no heading #twice-2",
        "README.md:8: docs/other.md#the-gateway-api: docs/other.md has no heading #the-gateway-api",
    ]


def test_links_are_relative_to_their_page(repo: Path) -> None:
    text = "[up](../src/pkg/there.py) [sibling](other.md#other) [not here](docs/other.md)\n"
    assert _found(repo, text, "docs/page.md") == [
        "docs/page.md:1: docs/other.md: does not exist in the repository"
    ]


def test_code_and_external_links_are_not_followed(repo: Path) -> None:
    text = (
        "```md\n[in a block](missing.md)\n```\n\n"
        "`[in a span](missing.md)` and [out](https://example.com/missing.md)\n"
        "<https://example.com/> [mail](mailto:someone@example.com)\n"
    )
    assert _found(repo, text) == []


def test_repository_paths_in_code_spans_must_exist(repo: Path) -> None:
    text = (
        "The code is `src/pkg/there.py`, not `src/pkg/gone.py`; state lives in\n"
        "`vault/locks/` and tools in `.venv/bin/tool`; run `python src/pkg/gone.py`.\n"
    )
    assert _found(repo, text) == ["README.md:1: src/pkg/gone.py: does not exist in the repository"]


def test_a_markdown_file_the_repository_lacks_is_named(repo: Path) -> None:
    text = "As ROUTING.md's table says; see other.md, `docs/other.md` and `AUTH.md`.\n"
    assert _found(repo, text) == [
        "README.md:1: AUTH.md: this repository has no Markdown file of that name",
        "README.md:1: ROUTING.md: this repository has no Markdown file of that name",
    ]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Timeouts", "timeouts"),
        ("What each failure class does", "what-each-failure-class-does"),
        ("The gateway's OpenAI-compatible API", "the-gateways-openai-compatible-api"),
        ("`clawgate models auth add`", "clawgate-models-auth-add"),
        ("`agents.defaults` and **more**", "agentsdefaults-and-more"),
        ("Links: [the page](x.md), snake_case", "links-the-page-snake_case"),
        ("Ünïcode stays", "ünïcode-stays"),
    ],
)
def test_slugs_are_githubs(heading: str, expected: str) -> None:
    assert slug(heading) == expected

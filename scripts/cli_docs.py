"""Write docs/cli.md from the click command tree, so the reference can only name flags the
CLI accepts (docs/auth.md, "Failure modes" 9). ``--check`` exits 1 when the page is out of date.

    python scripts/cli_docs.py          # rewrite docs/cli.md
    python scripts/cli_docs.py --check  # compare only
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from clawgate.cli import cli

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(
    command: click.Command, path: list[str], parent: click.Context | None
) -> Iterator[tuple[list[str], click.Command, click.Context]]:
    ctx = click.Context(command, info_name=path[-1], parent=parent, **command.context_settings)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, [*path, name], ctx)


def _prose(text: str) -> str:
    """Help text as Markdown prose: a <placeholder> must not read as an HTML tag."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _option(param: click.Parameter, ctx: click.Context) -> str:
    record = None if isinstance(param, click.Argument) else param.get_help_record(ctx)
    if record is None:  # arguments are in the usage line
        return ""
    names, text = record
    escaped = _prose(text).replace("|", "\\|")
    return f"| `{names}` | {escaped} |"


def render() -> str:
    lines = [
        "# clawgate command reference",
        "",
        "Generated from the CLI by `python scripts/cli_docs.py`; a test fails when this page",
        "differs from what the CLI accepts. Exit codes: 0 ok, 1 failed (or, with `--check`,",
        "something needs attention), 2 usage, 78 bad config.",
        "",
    ]
    for path, command, ctx in _commands(cli, ["clawgate"], None):
        depth = min(len(path), 4)
        lines += [f"{'#' * (depth + 1)} `{' '.join(path)}`", ""]
        pieces = " ".join(command.collect_usage_pieces(ctx))
        lines += ["```", f"{' '.join(path)} {pieces}".rstrip(), "```", ""]
        if command.help:
            lines += [_prose(inspect.cleandoc(command.help).split("\f")[0].rstrip()), ""]
        options = [_option(p, ctx) for p in command.get_params(ctx)]
        options = [o for o in options if o]
        if options:
            lines += ["| option | meaning |", "|---|---|", *options, ""]
        if isinstance(command, click.Group):
            subs = sorted(command.list_commands(ctx))
            lines += ["Commands: " + ", ".join(f"`{s}`" for s in subs), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    page = render()
    if "--check" in sys.argv[1:]:
        if not PAGE.exists() or PAGE.read_text() != page:
            print(f"{PAGE} is out of date: run python scripts/cli_docs.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

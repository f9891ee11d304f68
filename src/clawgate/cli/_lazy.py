"""Groups whose commands load lazily (click's "lazily loading subcommands" pattern): a group
knows each command's name, module and --help line without importing it, so `clawgate --help`
imports no command and `clawgate models status` only what status needs."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import click

from clawgate.cli._app import whole_summaries

__all__ = ["LazyCommands", "LazyGroup", "Table"]

# name -> (module, attribute, the command's line in its group's --help: its first sentence,
# as `whole_summaries` makes it; tests/test_cli_imports.py fails when they drift apart).
Table = dict[str, tuple[str, str, str]]


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands, each imported the first time it is looked up."""

    def __init__(self, table: Table) -> None:
        self.table = dict(table)
        self._loaded: dict[str, click.Command] = {}

    def loaded(self, name: str) -> click.Command | None:
        return self._loaded.get(name)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self.table:
                raise KeyError(name)
            module, attribute, _ = self.table[name]
            command = getattr(importlib.import_module(module), attribute)
            if isinstance(command, LazyGroup):
                # Its own commands get their summaries as they load, not all of them now.
                if command.short_help is None:
                    command.short_help = self.table[name][2]
            else:
                whole_summaries(command)
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.table.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self.table or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from self.table
        yield from (name for name in self._loaded if name not in self.table)

    def __len__(self) -> int:
        return len(self.table.keys() | self._loaded.keys())


class LazyGroup(click.Group):
    """A group over `LazyCommands`: lists its commands from the table, imports one only to
    run it (or to show its own --help)."""

    commands: LazyCommands

    def __init__(self, name: str | None = None, *, table: Table, **kwargs: Any) -> None:
        super().__init__(name, commands=LazyCommands(table), **kwargs)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own imports every command to ask for its line; the table has them.
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.loaded(name)
            if command is None:
                rows.append((name, self.commands.table[name][2]))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

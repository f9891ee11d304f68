"""What every command shares: the environment, the state paths, the config, the consoles,
and the one place where user errors become a message and an exit code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from clawgate.errors import ClawgateError

if TYPE_CHECKING:  # imported when used: `clawgate --help` needs neither (cli/__init__.py)
    from clawgate.config import LoadedConfig
    from clawgate.vault import Vault


class App:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        from clawgate.config import Paths, process_environment

        self.env: Mapping[str, str] = process_environment() if env is None else env
        self.paths = Paths.from_env(self.env)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=True)
        if not self.out.is_terminal:
            self.out.width = 160  # piped tables are read by scripts and people alike: no cuts
        self._config: LoadedConfig | None = None
        self._vault: Vault | None = None

    @property
    def config(self) -> LoadedConfig:
        if self._config is None:
            from clawgate.config import load_config

            self._config = load_config(self.paths.config_file, self.env)
            for warning in self._config.warnings:
                self.err.print(f"[yellow]warning:[/] {escape(str(warning))}")
        return self._config

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            from clawgate.config import ConfigError
            from clawgate.vault import Vault

            # Where the envelopes live is the config's (state.backend); the key never is. A
            # config that does not load is the command's to report (doctor says where).
            try:
                backend = self.config.settings.state.backend
            except ConfigError:
                backend = "sqlite"
            self._vault = Vault.open(self.paths.state_dir, self.env, backend=backend)
        return self._vault


pass_app = click.make_pass_decorator(App, ensure=True)


def whole_summaries(command: click.Command) -> None:
    """Each command's line in its group's --help: its whole first sentence, which click
    wraps, where click's own would cut it at the terminal's width with "..." (and mid-phrase)."""
    if command.short_help is None and command.help:
        command.short_help = _first_sentence(command.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            whole_summaries(sub)


def _first_sentence(help_text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one of "e.g." in it)."""
    words = help_text.split("\n\n", 1)[0].replace("\b", " ").split()
    ends = (
        i
        for i, word in enumerate(words)
        if word.endswith(".") and (i + 1 == len(words) or words[i + 1][:1].isupper())
    )
    return " ".join(words[: next(ends, len(words) - 1) + 1])


class Group(click.Group):
    """The root group: renders clawgate's errors, from any subcommand, without a traceback."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        whole_summaries(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClawgateError as exc:
            console = Console(stderr=True, highlight=False, soft_wrap=True)
            console.print(f"[red]error:[/] {escape(exc.message)}")
            if exc.fix:
                console.print(f"  [bold]fix:[/] {escape(exc.fix)}")
            ctx.exit(exc.exit_code)

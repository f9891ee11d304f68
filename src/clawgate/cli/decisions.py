"""`clawgate models decisions`: what the last turns tried, skipped and why (docs/routing.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from clawgate.cli._app import App, pass_app
from clawgate.cli._names import TURN_ID
from clawgate.errors import ClawgateError
from clawgate.state import TurnRecord, existing_state

_STYLE = {"succeeded": "green", "failed": "red"}


class UnknownTurn(ClawgateError):
    code = "not_found"
    exit_code = 2


@click.command("decisions")
@click.option(
    "--last",
    "last",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Show the newest N turns.",
)
@click.option(
    "--turn",
    "turn_id",
    type=TURN_ID,
    metavar="ID",
    help="Show one turn (its id is in the API's x-clawgate-turn header).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@pass_app
def decisions(app: App, last: int, turn_id: str | None, as_json: bool) -> None:
    """Each turn's candidates in order: attempted, skipped (and why), failed or succeeded."""
    state = existing_state(app.config.settings, app.paths, app.env)
    if state is None:
        turns: list[TurnRecord] = []
    else:
        try:
            if turn_id:
                found = state.decisions.get(turn_id)
                if found is None:
                    raise UnknownTurn(
                        f"no turn {turn_id!r} in {state.conn.describe()}",
                        fix="list recent turns with: clawgate models decisions --last 20",
                    )
                turns = [found]
            else:
                turns = state.decisions.last(last)
        finally:
            state.close()
    if as_json:
        click.echo(json.dumps([t.to_json() for t in turns], indent=2))
        return
    if not turns:
        click.echo("no turns recorded yet")
        return
    for turn in turns:
        _show(app, turn)


def _show(app: App, turn: TurnRecord) -> None:
    when = datetime.fromtimestamp(turn.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    style = _STYLE.get(turn.outcome, "yellow")
    answered = f" by {turn.model} ({turn.profile})" if turn.model else ""
    fallback = ", fallback" if turn.fallback else ""
    failure = f": {turn.failure}" if turn.failure else ""
    app.out.print(
        f"turn {turn.turn_id}  {when}  requested {turn.requested or 'default'}  "
        f"[{style}]{turn.outcome}[/]{escape(answered)}{fallback}{failure}"
    )
    table = Table(
        "#", "candidate", "profile", "decision", "reason", "status", "first token", "next"
    )
    for n, a in enumerate(turn.attempts, 1):
        table.add_row(
            str(n),
            escape(a.candidate),
            escape(a.profile),
            f"[{_STYLE.get(a.decision, 'yellow')}]{a.decision}[/]",
            escape(a.reason or "-"),
            str(a.status) if a.status else "-",
            f"{a.first_token_ms:.0f} ms" if a.first_token_ms is not None else "-",
            escape(a.next or "-"),
        )
    app.out.print(table)

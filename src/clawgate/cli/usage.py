"""`clawgate usage`: requests, tokens, failures and fallbacks since a moment, grouped, from
``state.db`` (`state.usage_report`; the gateway answers the same at ``GET /control/usage``).
Metered turns are priced from the config's model ``cost`` as an estimate; subscription turns
are counted against their windows, never priced."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from clawgate.cli._app import App, pass_app
from clawgate.state import (
    GROUPINGS,
    Grouping,
    UsageReport,
    UsageRow,
    existing_state,
    parse_since,
    prices_from,
)

# click made ParamType generic in 8.2; pyproject allows 8.1, where subscripting it fails.
if TYPE_CHECKING:
    _ParamType = click.ParamType[float, str]
else:
    _ParamType = click.ParamType


class Since(_ParamType):
    """A span back from now (``7d``) as the moment it names."""

    name = "span"

    def convert(
        self, value: str | float, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_since(value, time.time())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command("usage")
@click.option(
    "--since",
    type=Since(),
    default="7d",
    show_default=True,
    metavar="SPAN",
    help="How far back: 30m, 24h, 7d, 2w.",
)
@click.option(
    "--by",
    type=click.Choice(GROUPINGS),
    default="model",
    show_default=True,
    help="Group by client key, profile, model or day (UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def usage(app: App, since: float, by: Grouping, as_json: bool) -> None:
    """Requests, tokens, failures, fallbacks and the estimated cost of metered turns."""
    prices = prices_from(app.config.settings)
    state = existing_state(app.config.settings, app.paths, app.env)
    if state is not None:
        try:
            report = state.usage_report(since, by, prices)
        finally:
            state.close()
    else:
        report = UsageReport(since, by, ())
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    if not report.rows:
        click.echo("no turns in that time")
        return
    _show(app, report)


_COLUMNS = ("requests", "failed", "fallbacks", "input", "cached", "output", "reasoning", "cost*")


def _show(app: App, report: UsageReport) -> None:
    table = Table(box=None, pad_edge=False)
    table.add_column(report.by)
    for name in _COLUMNS:
        table.add_column(name, justify="right")
    for row in report.rows:
        table.add_row(escape(row.group), *_cells(row))
    table.add_row("[bold]total[/]", *_cells(report.total))
    app.out.print(table)
    total = report.total
    notes = ["* estimated from the config's model prices (models.providers.<id>.models[].cost)"]
    if total.subscription_turns:
        notes.append(
            f"{total.subscription_turns} subscription turn(s): counted against their plan's "
            "windows, not priced"
        )
    if total.unpriced_turns:
        notes.append(
            f"{total.unpriced_turns} metered turn(s) have no price in the config and are not "
            "in the estimate"
        )
    for note in notes:
        app.out.print(escape(note), highlight=False)


def _cells(row: UsageRow) -> list[str]:
    cost = "-" if row.estimated_cost is None else f"${row.estimated_cost:,.4f}"
    numbers = (
        row.requests,
        row.failures,
        row.fallbacks,
        row.input_tokens,
        row.cached_tokens,
        row.output_tokens,
        row.reasoning_tokens,
    )
    return [f"{n:,}" for n in numbers] + [cost]

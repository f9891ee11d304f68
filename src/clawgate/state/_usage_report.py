"""What was used since a moment, grouped by client key, profile, model or day: read from the
turn records (requests, failures, fallbacks) and the usage rows of the turns that were
answered (tokens), with an estimated cost for metered turns whose model has a price.

Subscription and free turns are counted, never priced: what they use is a window's share,
not money. A metered turn whose model has no ``cost`` in the config is counted as unpriced,
so an estimate never looks complete when it is not."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from clawgate.config import Settings
from clawgate.names import shown
from clawgate.state._seam import Db

__all__ = [
    "GROUPINGS",
    "Grouping",
    "Price",
    "UsageReport",
    "UsageRow",
    "parse_since",
    "prices_from",
    "usage_report",
]

Grouping = Literal["key", "profile", "model", "day"]
GROUPINGS: tuple[Grouping, ...] = ("key", "profile", "model", "day")
NONE = "(none)"  # a turn without a client key (the gateway token, the CLI, a channel), …

# Each a SQL expression over ``turns t LEFT JOIN usage u``; the names in it are columns.
_GROUP_SQL: Mapping[Grouping, str] = {
    "key": f"COALESCE(t.client_key, '{NONE}')",
    "profile": f"COALESCE(u.profile, t.profile, '{NONE}')",
    "model": f"COALESCE(t.model, t.requested, '{NONE}')",
    "day": "date(t.started_at, 'unixepoch')",  # UTC
}
# The one grouping the engines spell differently (the day of a UNIX time, in UTC).
_PG_DAY = "to_char(to_timestamp(t.started_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_SECONDS = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float
    cached: float  # cached input tokens

    def of(self, input_tokens: int, output_tokens: int, cached_tokens: int) -> float:
        uncached = max(input_tokens - cached_tokens, 0)
        spent = uncached * self.input + cached_tokens * self.cached + output_tokens * self.output
        return spent / 1_000_000


@dataclass
class UsageRow:
    group: str
    requests: int = 0  # turns
    failures: int = 0  # turns that ended failed
    fallbacks: int = 0  # answered by a candidate after the first
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # of the input
    reasoning_tokens: int = 0  # of the output
    subscription_turns: int = 0  # counted against the subscription's windows, not priced
    metered_turns: int = 0
    unpriced_turns: int = 0  # metered, but the model has no price in the config
    estimated_cost: float | None = None  # dollars, metered turns with a price; an estimate

    def add(self, other: UsageRow) -> None:
        for name in (
            "requests",
            "failures",
            "fallbacks",
            "input_tokens",
            "output_tokens",
            "cached_tokens",
            "reasoning_tokens",
            "subscription_turns",
            "metered_turns",
            "unpriced_turns",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.estimated_cost is not None:
            self.estimated_cost = (self.estimated_cost or 0.0) + other.estimated_cost


@dataclass(frozen=True)
class UsageReport:
    since: float
    by: Grouping
    rows: tuple[UsageRow, ...]
    total: UsageRow = field(default_factory=lambda: UsageRow("total"))

    def to_json(self) -> dict[str, object]:
        return {
            "since": self.since,
            "by": self.by,
            "rows": [asdict(r) for r in self.rows],
            "total": asdict(self.total),
            "cost_is_estimate": True,
        }


def usage_report(db: Db, since: float, by: Grouping, prices: Mapping[str, Price]) -> UsageReport:
    """Turns started at or after ``since``, grouped ``by``; ``prices`` by ``provider/model``."""
    group = _PG_DAY if by == "day" and db.dialect == "postgres" else _GROUP_SQL[by]
    rows = db.execute(
        f"SELECT {group} AS grp, u.provider, u.model, u.billing, "  # noqa: S608 (a fixed expression)
        "COUNT(*) AS requests, "
        "SUM(CASE WHEN t.outcome = 'failed' THEN 1 ELSE 0 END) AS failures, "
        "SUM(t.fallback) AS fallbacks, "
        "SUM(CASE WHEN u.turn_id IS NOT NULL THEN 1 ELSE 0 END) AS answered, "
        "SUM(COALESCE(u.input_tokens, 0)) AS input_tokens, "
        "SUM(COALESCE(u.output_tokens, 0)) AS output_tokens, "
        "SUM(COALESCE(u.cached_tokens, 0)) AS cached_tokens, "
        "SUM(COALESCE(u.reasoning_tokens, 0)) AS reasoning_tokens "
        "FROM turns t LEFT JOIN usage u ON u.turn_id = t.turn_id "
        "WHERE t.started_at >= ? GROUP BY grp, u.provider, u.model, u.billing",
        (since,),
    ).fetchall()
    groups: dict[str, UsageRow] = {}
    total = UsageRow("total")
    for row in rows:
        part = UsageRow(
            str(row["grp"]),
            requests=int(row["requests"]),
            failures=int(row["failures"] or 0),
            fallbacks=int(row["fallbacks"] or 0),
            input_tokens=int(row["input_tokens"]),
            output_tokens=int(row["output_tokens"]),
            cached_tokens=int(row["cached_tokens"]),
            reasoning_tokens=int(row["reasoning_tokens"]),
        )
        answered = int(row["answered"] or 0)
        if row["billing"] == "subscription":
            part.subscription_turns = answered
        elif row["billing"] == "metered":
            part.metered_turns = answered
            price = prices.get(f"{row['provider']}/{row['model']}")
            if price is None:
                part.unpriced_turns = answered
            else:
                part.estimated_cost = price.of(
                    part.input_tokens, part.output_tokens, part.cached_tokens
                )
        groups.setdefault(part.group, UsageRow(part.group)).add(part)
        total.add(part)
    return UsageReport(since, by, tuple(groups[g] for g in sorted(groups)), total)


def prices_from(settings: Settings) -> dict[str, Price]:
    """Each configured model's price (``models.providers.<id>.models[].cost``) by its ref."""
    found: dict[str, Price] = {}
    for provider, entry in settings.models.providers.items():
        for model in entry.models:
            if model.cost is not None:
                cost = model.cost
                cached = cost.input if cost.cache_read is None else cost.cache_read
                found[f"{provider}/{model.id}"] = Price(cost.input, cost.output, cached)
    return found


def parse_since(text: str, now: float) -> float:
    """``7d``, ``24h``, ``30m``, ``2w``: that long before ``now``. Raises ValueError with
    the form to use."""
    match = _SPAN.match(text)
    if match is None:
        raise ValueError(
            f"since {shown(text)} is not a span: use a number and m, h, d or w (30m, 24h, 7d, 2w)"
        )
    return now - float(match.group(1)) * _SECONDS[match.group(2).lower()]

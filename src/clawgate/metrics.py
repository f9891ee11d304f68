"""The gateway's Prometheus series (docs/operations.md, "Metrics"), defined once, low in the
stack, so each fact is recorded in one line where it is born: the runtime's turn record
(`turn`), the broker's refresh (`refreshed`), the gateway's streamed answers (`ACTIVE_STREAMS`).
The gauges read at scrape time (profiles, circuits) are the gateway's own (`gateway._metrics`),
handed to `exposition`.

Labels take bounded values only, never one a request chose: a model is a ref the config names
or ``other`` (the refs callers invent make no series), a key is a client key's name (made by
``clawgate gateway keys create``), a profile is one the vault holds, a reason one of the
failure taxonomy's or the router's. An empty value means "not applicable" (a turn without a
client key or without a failure).

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` is in the environment as the
process starts (prometheus_client reads it on import), or was set before the process was
forked, each process writes its values to files there and `exposition` merges them
(prometheus_client's multiprocess mode): counters and histograms add up, active streams are
summed over the live processes (``livesum``; the supervisor marks a worker that exited dead,
`process_gone`), and the scrape-time gauges are read by the process that answers the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

__all__ = [
    "ACTIVE_STREAMS",
    "ATTEMPTS",
    "CONTENT_TYPE",
    "END",
    "FALLBACKS",
    "FIRST_TOKEN",
    "OTHER",
    "REFRESHES",
    "TOKENS",
    "TURNS",
    "exposition",
    "model_label",
    "multiprocess",
    "process_gone",
    "refreshed",
    "turn",
]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus version reads
OTHER = "other"  # the label of every model ref the config does not name

# This process's series; a scrape reads them through `exposition`, never directly.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_* (memory, CPU, open files); one process only

TURNS = Counter(
    "clawgate_turns",
    "Turns by outcome (succeeded, failed, client_gone) and failure class, per model and key",
    ["outcome", "failure", "model", "key"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "clawgate_fallbacks",
    "Turns answered by a candidate after the first, by the model that answered",
    ["model"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "clawgate_attempts",
    "Attempts and skips by decision (as in decision records) and reason (failure class, …)",
    ["model", "decision", "reason"],
    registry=REGISTRY,
)
# Seconds from an attempt's start: to its first content, and to the end of its answer.
_LATENCY = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0)
FIRST_TOKEN = Histogram(
    "clawgate_first_token_seconds",
    "Seconds from an attempt's start to its first content",
    ["model"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
END = Histogram(
    "clawgate_answer_seconds",
    "Seconds from an attempt's start to the end of the answer it gave",
    ["model"],
    buckets=_LATENCY,
    registry=REGISTRY,
)
TOKENS = Counter(
    "clawgate_tokens",
    "Tokens of answered turns: input, output, cached (of input), reasoning (of output)",
    ["kind", "model", "key"],
    registry=REGISTRY,
)
REFRESHES = Counter(
    "clawgate_refreshes",
    "Credential renewals by outcome: refreshed, adopted (another process had), put_off, "
    "minted (a session token), or the failure class",
    ["provider", "outcome"],
    registry=REGISTRY,
)
# Labelled, as every series here, so its values are made on first use: after a fork (below).
ACTIVE_STREAMS = Gauge(
    "clawgate_active_streams",
    "Streamed answers being sent now, by the API path that streams them",
    ["path"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


def _after_fork() -> None:
    # A supervisor imports this module, sets PROMETHEUS_MULTIPROC_DIR, then forks its workers
    # (`gateway._workers`): each worker chooses again, as prometheus_client does on import.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


os.register_at_fork(after_in_child=_after_fork)


class Attempt(Protocol):
    """What is read of an attempt's record (`state.AttemptRecord`)."""

    @property
    def candidate(self) -> str: ...
    @property
    def decision(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def first_token_ms(self) -> float | None: ...
    @property
    def end_ms(self) -> float | None: ...


class Turn(Protocol):
    """What is read of a turn's record (`state.TurnRecord`)."""

    @property
    def outcome(self) -> str: ...
    @property
    def failure(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def fallback(self) -> bool: ...
    @property
    def attempts(self) -> Sequence[Attempt]: ...
    @property
    def client_key(self) -> str | None: ...


class Used(Protocol):
    """What is read of a turn's usage (`providers.Usage`)."""

    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def cached_tokens(self) -> int | None: ...
    @property
    def reasoning_tokens(self) -> int | None: ...


def model_label(ref: str | None, known: Callable[[str], bool]) -> str:
    """A model ref as a label: itself when the config names it (``known``), else `OTHER`."""
    if ref is None:
        return ""
    return ref if known(ref) else OTHER


def turn(record: Turn, used: Used | None, known: Callable[[str], bool]) -> None:
    """A recorded turn: its outcome, its attempts and their latency, its tokens."""
    model, key = model_label(record.model, known), record.client_key or ""
    TURNS.labels(record.outcome, record.failure or "", model, key).inc()
    if record.fallback:
        FALLBACKS.labels(model).inc()
    for attempt in record.attempts:
        tried = model_label(attempt.candidate, known)
        ATTEMPTS.labels(tried, attempt.decision, attempt.reason or "").inc()
        if attempt.first_token_ms is not None:
            FIRST_TOKEN.labels(tried).observe(attempt.first_token_ms / 1000)
        if attempt.decision == "succeeded" and attempt.end_ms is not None:
            END.labels(tried).observe(attempt.end_ms / 1000)
    if used is None:
        return
    counts = {
        "input": used.input_tokens,
        "output": used.output_tokens,
        "cached": used.cached_tokens,
        "reasoning": used.reasoning_tokens,
    }
    for kind, count in counts.items():
        if count:
            TOKENS.labels(kind, model, key).inc(count)


def refreshed(provider: str, outcome: str) -> None:
    """A credential renewal of ``provider``'s profile ended in ``outcome``."""
    REFRESHES.labels(provider, outcome).inc()


def multiprocess() -> bool:
    """Whether prometheus_client keeps values in files shared by processes (it chose on
    import, from ``PROMETHEUS_MULTIPROC_DIR``)."""
    return values.ValueClass is not values.MutexValue


def process_gone(pid: int) -> None:
    """A worker exited: its live gauges (active streams) no longer count. For the supervisor
    of worker processes; nothing to do with one process."""
    if multiprocess():
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


class _Own:
    """This process's series, as one collector of a scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(*scraped: Collector) -> bytes:
    """The text a scrape answers: every process's series (merged from the shared files in
    multiprocess mode, else this process's), then ``scraped`` (read by the scraping process
    only: gauges of what it can see now)."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Own())
    for collector in scraped:
        registry.register(collector)
    return generate_latest(registry)

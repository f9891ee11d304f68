"""Client keys at the gateway (`service._client_keys` keeps them): which key a request
came with, and whether its limits let it in.

The records are re-read only when their vault file changed (its inode, size and mtime, one
``stat`` a request), so a key made or revoked by the CLI counts from the next request,
without a reload. The request rate is counted here, per process, over the last 60 seconds;
the tokens of the current UTC day come from the usage rows the key's turns wrote.

The key of the request in hand is kept in a context variable (`state.CLIENT_KEY` its name, for
the records; `CURRENT` the whole record, for the model check in `check_scope`), set by the
guard around the request.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from clawgate.clock import Clock, SystemClock
from clawgate.config import Settings
from clawgate.gateway._openai import DEFAULT_MODELS
from clawgate.routing import RoutingError, requested_ref
from clawgate.service import ClientKey, ClientKeyStore
from clawgate.state import State
from clawgate.vault import Vault

__all__ = [
    "CURRENT",
    "DEFAULT_CHAIN",
    "ClientKeys",
    "Limited",
    "OutOfScope",
    "check_scope",
]

DEFAULT_CHAIN = "clawgate"  # what a key's --models names the configured default chain by
_WINDOW = 60.0  # seconds the rpm limit counts over
_DAY = 86_400.0
_SETTLED = 2_000_000_000  # ns: a records file older than this is re-read only when it changes

CURRENT: ContextVar[ClientKey | None] = ContextVar("clawgate_client_key_record", default=None)


@dataclass(frozen=True)
class Limited:
    """A limit the key has reached: which, and when to try again."""

    limit: str  # rpm | tokens_per_day
    message: str
    retry_after: int  # seconds


class OutOfScope(Exception):
    """A request for a model or chain its client key may not use (a 403)."""

    def __init__(self, key: str, asked: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"client key {key!r} may not use {asked[:200]!r}; it may use: {', '.join(allowed)} "
            f"(fix: clawgate gateway keys create with --models {asked[:200]}, or ask for one "
            "of those)"
        )
        self.message = str(self)


class ClientKeys:
    def __init__(self, vault: Vault, state: State | None, clock: Clock | None = None) -> None:
        self.store = ClientKeyStore(vault, clock)
        self.state = state
        self.clock = clock or SystemClock()
        self._seen: tuple[int, int, int] | None = None  # the records file's, when read
        self._keys: list[ClientKey] = []
        self._requests: dict[str, deque[float]] = {}  # by key name: when, on the monotonic clock

    def find(self, presented: str) -> ClientKey | None:
        return self.store.find(presented, self._current())

    def _current(self) -> list[ClientKey]:
        seen = self.store.stamp()  # (inode, size, mtime ns) on files; see Vault.secret_stamp
        if seen is None:
            self._seen, self._keys = None, []
            return self._keys
        # A file changed within the file system's timestamp granularity of our last read may
        # have changed again unseen (git's "racy clean" problem): trust only older ones.
        if seen != self._seen or time.time_ns() - seen[2] < _SETTLED:
            self._keys = self.store.all()
            self._seen = seen
        return self._keys

    def admit(self, key: ClientKey) -> Limited | None:
        """None, with this request counted against the key's rate; else the limit it hit."""
        if key.tokens_per_day is not None and self.state is not None:
            now = self.clock.now()
            day = now - now % _DAY  # UTC midnight
            used = self.state.usage.key_tokens_since(key.name, day)
            if used >= key.tokens_per_day:
                return Limited(
                    "tokens_per_day",
                    f"client key {key.name!r} has used {used} of its {key.tokens_per_day} "
                    "tokens today (UTC); it may send more after midnight UTC",
                    math.ceil(day + _DAY - now),
                )
        if key.rpm is not None:
            now = self.clock.monotonic()
            sent = self._requests.setdefault(key.name, deque())
            while sent and sent[0] <= now - _WINDOW:
                sent.popleft()
            if len(sent) >= key.rpm:
                return Limited(
                    "rpm",
                    f"client key {key.name!r} may send {key.rpm} requests a minute",
                    max(1, math.ceil(sent[0] + _WINDOW - now)),
                )
            sent.append(now)
        return None


def check_scope(settings: Settings, model: str | None, models: Sequence[str]) -> None:
    """`OutOfScope` unless the request's client key (if any) may use every model or chain
    it names: a ref (or an alias of one) its ``--models`` lists, or ``clawgate`` for the
    configured default chain (asked for by no model, or by one of `DEFAULT_MODELS`)."""
    key = CURRENT.get()
    if key is None or not key.models:
        return
    allowed = {_ref(settings, name) for name in key.models}
    for asked in [*models] or [model or DEFAULT_CHAIN]:
        if _ref(settings, asked) not in allowed:
            raise OutOfScope(key.name, asked, key.models)


def _ref(settings: Settings, name: str) -> str:
    if name in DEFAULT_MODELS:
        return DEFAULT_CHAIN
    try:
        provider, model = requested_ref(name, settings)
    except RoutingError:
        return name
    return f"{provider}/{model}"

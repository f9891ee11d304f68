"""The failure taxonomy shared by auth, providers and routing (docs/auth.md, "Failure taxonomy"),
and `Failure`: one failed step, as a value every layer reads the same way."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["Failure", "FailureClass", "TimeoutPhase"]


class FailureClass(StrEnum):
    AUTH_DEAD = "auth_dead"
    AUTH_TRANSIENT = "auth_transient"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    ENTITLEMENT = "entitlement"
    BILLING = "billing"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    NETWORK = "network"
    CONTEXT_OVERFLOW = "context_overflow"
    CONTENT_FILTER = "content_filter"
    BAD_REQUEST = "bad_request"
    MODEL_NOT_FOUND = "model_not_found"
    STREAM_BROKEN = "stream_broken"
    # Not a provider's answer: the model cannot run here (missing or corrupt local file,
    # unknown provider). Routing treats it like model_not_found: move to the next model.
    UNAVAILABLE = "unavailable"


# Which deadline ended an attempt (docs/routing.md, "Timeouts"): a connect timeout may be retried
# on the same candidate; a silent route (first token, stall, total) is not.
TimeoutPhase = Literal["connect", "first_token", "idle", "total"]


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, in the taxonomy, with what the other side said about it.

    ``kind`` is what routing and the broker act on; the rest is for decisions and people.
    ``message`` never carries a secret."""

    kind: FailureClass
    message: str
    fix: str | None = None  # the command or step that fixes it
    status: int | None = None  # the HTTP status, when there was an answer
    code: str | None = None  # the provider's or issuer's own machine-readable code
    retry_after: float | None = None  # seconds, from Retry-After and its relatives
    resets_at: float | None = None  # epoch seconds when a usage window or block lifts
    phase: TimeoutPhase | None = None  # for timeouts: which deadline
    request_id: str | None = None  # the provider's request id, for support

"""The failure taxonomy shared by auth, providers and routing (AUTH.md, "Failure taxonomy")."""

from __future__ import annotations

from enum import StrEnum


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

"""What a model endpoint's failure means, as one class of the failure taxonomy (docs/auth.md).

The provider's error ``code``/``type`` decides first, in either body shape; the HTTP status
decides only when no code we know is present; headers give the waits (docs/style.md,
"Failures are classified by code, not text"). Free text is for people. The one exception
is Anthropic's context overflow, which has no code of its own: see
`anthropic_context_overflow`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from clawgate.errorbody import ErrorBody, parse_error_body, resets_at, retry_after
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass

__all__ = [
    "CODES",
    "Classifier",
    "anthropic_context_overflow",
    "request_id_of",
]

log = logging.getLogger("clawgate.providers")

F = FailureClass

# Error codes and types in the wild, by what they mean. Generic ones (`invalid_request_error`,
# `error`) are deliberately absent: for those the status decides.
CODES: Mapping[str, FailureClass] = {
    # OpenAI (Chat Completions, Responses) and the servers that copy its shape
    "context_length_exceeded": F.CONTEXT_OVERFLOW,
    "exceed_context_size_error": F.CONTEXT_OVERFLOW,  # llama.cpp server
    "content_policy_violation": F.CONTENT_FILTER,
    "content_filter": F.CONTENT_FILTER,
    "invalid_prompt": F.CONTENT_FILTER,  # Responses API: the prompt was flagged
    "model_not_found": F.MODEL_NOT_FOUND,
    "invalid_api_key": F.AUTH_DEAD,
    "account_deactivated": F.AUTH_DEAD,
    # A 401 that survives the broker's refresh and retry (auth/_httpx_auth.py).
    "token_expired": F.AUTH_DEAD,
    "token_revoked": F.AUTH_DEAD,
    "rate_limit_exceeded": F.RATE_LIMIT,
    "insufficient_quota": F.BILLING,  # metered account out of credit
    "billing_hard_limit_reached": F.BILLING,
    "unsupported_country_region_territory": F.ENTITLEMENT,
    "server_is_overloaded": F.OVERLOADED,
    # GitHub Copilot
    "model_max_prompt_tokens_exceeded": F.CONTEXT_OVERFLOW,
    "model_not_supported": F.MODEL_NOT_FOUND,
    "quota_exceeded": F.QUOTA,  # the plan's monthly premium-request allowance
    # ChatGPT subscription backend (openai-codex)
    "usage_limit_reached": F.QUOTA,
    "usage_not_included": F.ENTITLEMENT,
    # Anthropic (https://docs.anthropic.com/en/api/errors)
    "authentication_error": F.AUTH_DEAD,
    "permission_error": F.ENTITLEMENT,
    "not_found_error": F.MODEL_NOT_FOUND,
    "request_too_large": F.BAD_REQUEST,
    "rate_limit_error": F.RATE_LIMIT,
    "billing_error": F.BILLING,
    "api_error": F.SERVER_ERROR,
    "timeout_error": F.SERVER_ERROR,
    "overloaded_error": F.OVERLOADED,
}

# Where each provider puts its request id.
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-github-request-id", "cf-ray")


_BY_STATUS: Mapping[int, FailureClass] = {
    401: F.AUTH_DEAD,
    402: F.BILLING,
    403: F.ENTITLEMENT,
    404: F.MODEL_NOT_FOUND,
    408: F.NETWORK,
    409: F.SERVER_ERROR,  # Anthropic documents 409 conflict as retryable
    429: F.RATE_LIMIT,
    503: F.OVERLOADED,
    529: F.OVERLOADED,
}


def _by_status(status: int) -> FailureClass:
    return _BY_STATUS.get(status) or (F.SERVER_ERROR if status >= 500 else F.BAD_REQUEST)


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The id the provider gave this request, for people reporting a problem to it."""
    return next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), None)


Refine = Callable[[ErrorBody], FailureClass | None]


def anthropic_context_overflow(error: ErrorBody) -> FailureClass | None:
    """Anthropic sends a too-long prompt as the generic ``invalid_request_error`` with a
    fixed sentence, ``prompt is too long: N tokens > M maximum``. It has no code for it, so this
    reads that one documented sentence in full (never a substring) for that one type."""
    message = error.message or ""
    if error.type == "invalid_request_error" and _TOO_LONG.fullmatch(message.strip()):
        return F.CONTEXT_OVERFLOW
    return None


_TOO_LONG = re.compile(r"prompt is too long: \d+ tokens > \d+ maximum")


@dataclass(frozen=True)
class Classifier:
    provider: str
    login_fix: str
    refine: Refine | None = None

    def response(
        self, status: int, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> Failed:
        """An HTTP answer that is not a success."""
        error = parse_error_body(body)
        return self._error(error, status=status, headers=headers, now=now)

    def stream_error(
        self, error: ErrorBody, *, now: float, request_id: str | None = None
    ) -> Failed:
        """An error sent inside a 200 stream (`error` events, ``response.failed``)."""
        return self._error(error, status=None, headers={}, now=now, request_id=request_id)

    def _error(
        self,
        error: ErrorBody,
        *,
        status: int | None,
        headers: Mapping[str, str],
        now: float,
        request_id: str | None = None,
    ) -> Failed:
        known = next((c for c in error.codes if c in CODES), None)
        failure = (self.refine(error) if self.refine else None) or (CODES[known] if known else None)
        if failure is None:
            failure = _by_status(status) if status is not None else F.SERVER_ERROR
        code = known or error.code or error.type
        said = error.message or code or (f"HTTP {status}" if status else "an error")
        where = f"{self.provider} answered {status}" if status else f"{self.provider} failed"
        request_id = request_id or request_id_of(headers)
        exc = Failed(
            Failure(
                failure,
                f"{where} ({code or failure.value}): {said}",
                fix=self._fix(failure),
                status=status,
                code=code,
                retry_after=retry_after(headers, now),
                resets_at=_resets_at(error, headers, now),
                request_id=request_id,
            )
        )
        log.info(
            "provider failure provider=%s status=%s code=%s class=%s request_id=%s",
            self.provider,
            status,
            code,
            failure.value,
            request_id,
        )
        return exc

    def _fix(self, failure: FailureClass) -> str | None:
        return {
            F.AUTH_DEAD: self.login_fix,
            F.RATE_LIMIT: "wait a little, or configure a fallback model or another profile",
            F.QUOTA: "wait for the usage window to reset, or configure a fallback model",
            F.ENTITLEMENT: "this account's plan does not include the model: choose another",
            F.BILLING: f"add credit or fix billing for this {self.provider} account",
            F.CONTEXT_OVERFLOW: "shorten the conversation, or use a model with a larger context",
            F.MODEL_NOT_FOUND: (f"check the model id and models.providers.{self.provider}.baseUrl"),
            F.UNAVAILABLE: (
                f"serve this model on the API it takes: models.providers.{self.provider}.models "
                '[{"id": "<model>", "api": "openai-responses"}], or choose another model'
            ),
        }.get(failure)

    def exception(self, exc: httpx.TransportError, *, answered: bool) -> Failed:
        """No (complete) answer: the connection failed before or after the headers."""
        if isinstance(exc, httpx.TimeoutException):
            # Reads have no httpx deadline (the transport's own deadlines cover them), so this
            # is connecting, writing the request, or waiting for a pooled connection.
            return Failed(
                Failure(F.TIMEOUT, f"{self.provider} could not be reached in time", phase="connect")
            )
        if answered:
            return Failed(
                Failure(
                    F.STREAM_BROKEN,
                    f"{self.provider}'s connection broke in the middle of the answer "
                    f"({type(exc).__name__})",
                )
            )
        if isinstance(exc, httpx.ConnectError):
            return Failed(
                Failure(F.NETWORK, f"could not connect to {self.provider} ({type(exc).__name__})")
            )
        return Failed(
            Failure(
                F.NETWORK,
                f"{self.provider} closed the connection without answering ({type(exc).__name__})",
            )
        )


def _resets_at(error: ErrorBody, headers: Mapping[str, str], now: float) -> float | None:
    """When a limit lifts: the body's reset (ChatGPT's usage limit), else the rate-limit
    reset headers OpenAI and Anthropic send."""
    from_body = resets_at(error, now)
    if from_body is not None:
        return from_body
    lowered = {k.lower(): v for k, v in headers.items()}
    waits = [
        _duration(lowered[h])
        for h in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
        if h in lowered
    ]
    known = [w for w in waits if w is not None]
    if known:
        return now + max(known)
    stamps = [
        _timestamp(v)
        for k, v in lowered.items()
        if k.startswith("anthropic-ratelimit-") and k.endswith("-reset")
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?"
    r"(?:(\d+(?:\.\d+)?)ms)?"
)


def _duration(value: str) -> float | None:
    """OpenAI's reset headers: Go-style durations such as ``1s``, ``6m0s``, ``120ms``."""
    match = _DURATION.fullmatch(value.strip())
    if not match or not any(match.groups()):
        return None
    h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def _timestamp(value: str) -> float | None:
    """Anthropic's reset headers are RFC 3339 times."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo else None

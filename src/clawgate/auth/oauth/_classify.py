"""What a token endpoint's refusal means, as a class of the failure taxonomy (docs/auth.md step 7).

Codes decide first (RFC 6749 §5.2 codes, and OpenAI's own in either body shape); the status
decides only when no known code is present; message text never decides. A usage-limit or
plan body is a quota or entitlement answer, never a reason to log in again.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from clawgate.auth.oauth._errors import TokenError
from clawgate.errorbody import parse_error_body, resets_at, retry_after
from clawgate.failures import Failure, FailureClass

# The grant is gone: only a new login helps.
DEAD_GRANT = frozenset(
    {
        "invalid_grant",  # RFC 6749 §5.2
        "token_expired",
        "refresh_token_expired",
        "refresh_token_reused",
        "refresh_token_invalidated",
        "refresh_token_revoked",
        "invalid_refresh_token",
    }
)

_BY_CODE: Mapping[str, FailureClass] = {
    **dict.fromkeys(DEAD_GRANT, FailureClass.AUTH_DEAD),
    # Our request or registration is wrong; logging in again would not change it.
    "invalid_client": FailureClass.BAD_REQUEST,
    "unauthorized_client": FailureClass.BAD_REQUEST,
    "unsupported_grant_type": FailureClass.BAD_REQUEST,
    "invalid_scope": FailureClass.BAD_REQUEST,
    "invalid_request": FailureClass.BAD_REQUEST,
    # RFC 6749 §4.1.2.1: the issuer is overloaded or failing.
    "server_error": FailureClass.SERVER_ERROR,
    "temporarily_unavailable": FailureClass.SERVER_ERROR,
    "slow_down": FailureClass.RATE_LIMIT,  # RFC 8628 §3.5
    "rate_limit_exceeded": FailureClass.RATE_LIMIT,
    "usage_limit_reached": FailureClass.QUOTA,
    "insufficient_quota": FailureClass.QUOTA,
    "usage_not_included": FailureClass.ENTITLEMENT,
}


def _by_status(status: int) -> FailureClass:
    if status == 429:
        return FailureClass.RATE_LIMIT
    if status == 408:
        return FailureClass.TIMEOUT
    if status >= 500:
        return FailureClass.SERVER_ERROR
    if status in (400, 401, 403):
        # RFC 6749 §5.2 sends refusals of the grant as 400/401 even without a code we know.
        return FailureClass.AUTH_DEAD
    return FailureClass.BAD_REQUEST


def classify_refusal(
    status: int, headers: Mapping[str, str], body: bytes, *, now: float, endpoint: str
) -> TokenError:
    error = parse_error_body(body)
    failure = next((_BY_CODE[c] for c in error.codes if c in _BY_CODE), None)
    if failure is None:
        failure = _by_status(status)
    code = next((c for c in error.codes if c in _BY_CODE), error.code or error.type)
    words = error.message or code or f"HTTP {status}"
    return TokenError(
        Failure(
            failure,
            f"the token endpoint ({endpoint}) refused: {words}",
            code=code,
            status=status,
            retry_after=retry_after(headers, now),
            resets_at=resets_at(error, now),
        )
    )


def classify_exception(exc: httpx.TransportError, *, endpoint: str) -> TokenError:
    """A request that got no answer: a timeout or a network failure, both transient."""
    if isinstance(exc, httpx.TimeoutException):
        failure, what = FailureClass.TIMEOUT, "timed out"
    else:
        failure, what = FailureClass.NETWORK, f"could not be reached ({type(exc).__name__})"
    return TokenError(Failure(failure, f"the token endpoint ({endpoint}) {what}"))

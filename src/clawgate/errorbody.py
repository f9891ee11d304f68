"""Reading what an HTTP error says: the error code in either body shape, and when to retry.

Providers and token endpoints answer errors as ``{"error": "invalid_grant"}`` (RFC 6749 §5.2)
or ``{"error": {"code": "...", "type": "..."}}`` (OpenAI, Anthropic). Classification reads
these fields and headers only; free text is for people (docs/style.md, "Failures are
classified by code, not text").
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorBody:
    code: str | None = None  # error.code, or the RFC 6749 string form of error
    type: str | None = None  # error.type
    message: str | None = None  # error_description or error.message: the provider's words
    fields: Mapping[str, Any] | None = None  # the error object itself, for vendor extras

    @property
    def codes(self) -> tuple[str, ...]:
        """Code and type, most specific first: either may carry the machine-readable part."""
        return tuple(c for c in (self.code, self.type) if c)


def parse_error_body(raw: bytes | str) -> ErrorBody:
    """Never raises: a body that is not JSON, or not an error, is an empty `ErrorBody`."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ErrorBody()
    return error_from(document)


def error_from(document: object) -> ErrorBody:
    """The error in an already-decoded body or stream event; empty when there is none."""
    if not isinstance(document, dict):
        return ErrorBody()
    error = document.get("error")
    if isinstance(error, str):
        return ErrorBody(code=error, message=_text(document.get("error_description")))
    if isinstance(error, dict):
        return ErrorBody(
            code=_text(error.get("code")),
            type=_text(error.get("type")),
            message=_text(error.get("message")),
            fields=error,
        )
    # Some endpoints, and the Responses API's `error` stream event, put the code at the top
    # level: {"code": "...", "message": "..."}.
    return ErrorBody(
        code=_text(document.get("code")),
        type=_text(document.get("type")) if document.get("type") != "error" else None,
        message=_text(document.get("message")),
        fields=document,
    )


def resets_at(error: ErrorBody, now: float) -> float | None:
    """When a usage limit lifts, from OpenAI's usage-limit body: ``{"error": {"type":
    "usage_limit_reached", "resets_at": <epoch>, "resets_in_seconds": n}}``."""
    fields = error.fields or {}
    at = fields.get("resets_at")
    if isinstance(at, int | float) and not isinstance(at, bool) and at > 0:
        return float(at)
    within = fields.get("resets_in_seconds")
    if isinstance(within, int | float) and not isinstance(within, bool) and within >= 0:
        return now + float(within)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, from ``Retry-After`` (RFC 9110 §10.2.3: delay-seconds or an HTTP date)
    or the ``retry-after-ms`` header some APIs send; None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return seconds / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _number(value: str) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None

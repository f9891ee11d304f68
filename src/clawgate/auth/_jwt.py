"""Read a JWT's claims for display and expiry (RFC 7519 §7.2 shape checks, no signature trust).

Who the token belongs to and when it expires is read from the token itself; trusting it is
the issuer's business when the token is presented, not ours.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, or None when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        payload = json.loads(_b64url(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    return payload


def expiry(token: str) -> float | None:
    """The ``exp`` claim (seconds since the epoch) when present and sane."""
    found = (claims(token) or {}).get("exp")
    return float(found) if isinstance(found, int | float) and found > 0 else None


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

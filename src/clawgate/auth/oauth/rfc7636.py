"""Proof Key for Code Exchange (RFC 7636), S256 only: ``plain`` is refused by every issuer
clawgate talks to and would put the verifier on the front channel."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from clawgate.secret import Secret


@dataclass(frozen=True)
class Pkce:
    verifier: Secret
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> Pkce:
        # §4.1: 43-128 characters of [A-Za-z0-9-._~]; 48 random bytes → 64 base64url chars.
        verifier = secrets.token_urlsafe(48)
        return cls(Secret(verifier), s256(verifier))


def s256(verifier: str) -> str:
    """§4.2: BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

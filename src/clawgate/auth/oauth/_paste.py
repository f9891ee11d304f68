"""What a person pastes when the browser cannot reach our listener (SSH, headless hosts):
the whole redirect URL, its query, ``code#state``, or the bare code."""

from __future__ import annotations

from urllib.parse import urlsplit

from clawgate.auth.oauth._errors import OAuthError
from clawgate.auth.oauth.rfc6749 import Callback
from clawgate.failures import Failure, FailureClass


def code_from_paste(text: str, *, state: str, issuer: str | None) -> str:
    """The authorization code; `OAuthError` (class bad_request) for a paste that is not one,
    or that belongs to another login."""
    text = text.strip()
    if not text:
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                "nothing was pasted",
                fix="paste the address the browser ended on, or its code",
            )
        )
    if "://" in text:
        return Callback.from_query(urlsplit(text).query).accept(state=state, issuer=issuer)
    if "=" in text:
        return Callback.from_query(text.lstrip("?")).accept(state=state, issuer=issuer)
    code, _, pasted_state = text.partition("#")
    if pasted_state and pasted_state != state:
        return Callback(code=code, state=pasted_state).accept(state=state, issuer=issuer)
    if not code or any(c.isspace() for c in code):
        raise OAuthError(
            Failure(
                FailureClass.BAD_REQUEST,
                "that does not look like an authorization code",
                fix="paste the address the browser ended on, or its code",
            )
        )
    return code

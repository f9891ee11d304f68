"""The OAuth layer's errors.

::

    ClawgateError
     └── OAuthError              a flow could not finish (bad callback, denied, expired)
          └── TokenError         a token endpoint said no, or could not be reached;
                                 ``failure`` is its class in the taxonomy (failures.py)

Messages carry the issuer's own words (``error_description``) and never a token.
"""

from __future__ import annotations

from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass


class OAuthError(ClawgateError):
    code = "oauth_error"

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        failure: FailureClass = FailureClass.AUTH_DEAD,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message, fix=fix)
        self.failure = failure
        self.error_code = error_code  # the issuer's machine-readable code, when it sent one
        self.code = failure.value
        # What the person asked for cannot work as asked: a usage error.
        self.exit_code = 2 if failure is FailureClass.BAD_REQUEST else 1


class TokenError(OAuthError):
    def __init__(
        self,
        message: str,
        *,
        failure: FailureClass,
        error_code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        resets_at: float | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message, fix=fix, failure=failure, error_code=error_code)
        self.status = status
        self.retry_after = retry_after
        self.resets_at = resets_at

    @property
    def reuse_suspected(self) -> bool:
        """The grant may have been rotated by someone else just now (AUTH.md step 7):
        worth one re-read of the vault before calling the login dead."""
        return self.error_code in ("refresh_token_reused", "invalid_grant")

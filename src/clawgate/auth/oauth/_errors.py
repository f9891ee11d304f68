"""The OAuth layer's errors: `Failed` (errors.py) with where it came from.

::

    Failed
     └── OAuthError              a flow could not finish (bad callback, denied, expired)
          └── TokenError         a token endpoint said no, or could not be reached

Messages carry the issuer's own words (``error_description``) and never a token.
"""

from __future__ import annotations

from clawgate.errors import Failed

__all__ = ["OAuthError", "TokenError"]


class OAuthError(Failed):
    pass


class TokenError(OAuthError):
    @property
    def reuse_suspected(self) -> bool:
        """The grant may have been rotated by someone else just now (docs/auth.md step 7):
        worth one re-read of the vault before calling the login dead."""
        return self.failure.code in ("refresh_token_reused", "invalid_grant")

"""The root of every clawgate error a person may see, and `Failed`, the one exception that
carries a `Failure` of the taxonomy through every layer.

::

    ClawgateError              code, message (never a secret), fix (a command or step)
     ├── config.ConfigError           bad_config
     ├── vault.VaultError             unresolved, tampered, key_unavailable, …
     └── Failed                       ``failure``: a `Failure`; ``code`` is its class
          ├── auth.oauth.OAuthError       a login flow or an issuer said no
          │    └── TokenError             … its token endpoint, in particular
          ├── auth.CredentialError        + the profile
          └── routing.RouteFailed         + the attempt records, whether text was sent
               └── runtime.TurnFailed     + the turn id

Providers raise `Failed` itself. A layer that re-raises adds only what it knows; it never
copies the failure's fields. The CLI renders any of them the same way: the message, then the
fix, with no traceback.
"""

from __future__ import annotations

from clawgate.failures import Failure, FailureClass

__all__ = ["ClawgateError", "Failed"]


class ClawgateError(Exception):
    code: str = "error"
    exit_code: int = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message}\n  fix: {self.fix}"


class Failed(ClawgateError):
    def __init__(self, failure: Failure, *, message: str | None = None) -> None:
        """``message`` replaces the failure's own words for people (a layer's prefix); the
        failure itself is carried unchanged."""
        super().__init__(message or failure.message, fix=failure.fix)
        self.failure = failure
        self.code = failure.kind.value
        # What the person asked for cannot work as asked: a usage error.
        self.exit_code = 2 if failure.kind is FailureClass.BAD_REQUEST else 1

    def __repr__(self) -> str:
        f = self.failure
        return f"{type(self).__name__}({f.kind.value}, {self.message!r}, status={f.status})"

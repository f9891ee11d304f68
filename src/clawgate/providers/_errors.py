"""Provider failures, each carrying one class of the shared taxonomy as its ``code``.

::

    ClawgateError
     └── ProviderError    ``failure`` is the class routing acts on; ``status``,
                          ``provider_code``, ``retry_after``, ``resets_at`` and ``phase``
                          are what the provider said, for decisions and for people
"""

from __future__ import annotations

from typing import Literal

from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass

# Which deadline ended an attempt (ROUTING.md, "Timeouts"): a connect timeout may be retried
# on the same candidate; a silent route (first token, stall, total) is not.
TimeoutPhase = Literal["connect", "first_token", "idle", "total"]


class ProviderError(ClawgateError):
    def __init__(
        self,
        failure: FailureClass,
        message: str,
        *,
        fix: str | None = None,
        status: int | None = None,
        provider_code: str | None = None,
        retry_after: float | None = None,
        resets_at: float | None = None,
        phase: TimeoutPhase | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, fix=fix)
        self.failure = failure
        self.status = status
        self.provider_code = provider_code
        self.retry_after = retry_after
        self.resets_at = resets_at
        self.phase = phase
        self.request_id = request_id

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.failure.value

    def __repr__(self) -> str:
        return f"ProviderError({self.failure.value}, {self.message!r}, status={self.status})"

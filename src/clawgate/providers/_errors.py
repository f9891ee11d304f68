"""Provider failures, each carrying one class of the shared taxonomy as its ``code``."""

from __future__ import annotations

from clawgate.errors import ClawgateError
from clawgate.failures import FailureClass


class ProviderError(ClawgateError):
    def __init__(
        self,
        failure: FailureClass,
        message: str,
        *,
        fix: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, fix=fix)
        self.failure = failure
        self.status = status
        self.retry_after = retry_after

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.failure.value

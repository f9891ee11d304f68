"""The root of every clawgate error a person may see.

::

    ClawgateError              code, message (never a secret), fix (a command or step)
     ├── config.ConfigError           bad_config
     ├── providers.ProviderError      one class of the failure taxonomy (failures.py)
     └── runtime.TurnFailed           the last attempt's class

Each layer defines its own small subclasses; the CLI renders any of them the same way:
the message, then the fix, with no traceback.
"""

from __future__ import annotations


class ClawgateError(Exception):
    code: str = "error"
    exit_code: int = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message}\n  fix: {self.fix}"

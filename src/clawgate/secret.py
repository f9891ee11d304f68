"""A secret value that does not leak by accident.

``repr``/``str``/f-strings show only the last four characters; the value comes out only through
`reveal()`, so every place that sends a secret on the wire is easy to find.
"""

from __future__ import annotations

import hmac


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secrets are not pickled")


def mask(value: str) -> str:
    """``…abcd``: enough to tell two secrets apart, never enough to use one."""
    return f"…{value[-4:]}" if len(value) >= 12 else "…"

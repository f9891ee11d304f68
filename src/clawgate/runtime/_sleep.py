"""The waiting the runtime does (Retry-After, backoff), injectable like the clock."""

from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]

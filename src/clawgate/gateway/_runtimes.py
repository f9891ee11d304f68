"""Which runtime serves new requests, and when an old one may be closed.

A live config reload replaces the gateway's runtime, but requests in flight finish on the one
they started on. Each request holds a `Lease` on its runtime (a turn until its answer is sent
or its client is gone, a probe until it reports); a retired runtime is closed, with its
providers' HTTP clients, when its last lease is released. Shutdown closes whatever is left.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

import anyio

__all__ = ["Lease", "Runtimes"]


class Closable(Protocol):
    async def aclose(self) -> None: ...


R = TypeVar("R", bound=Closable)


class Lease(Generic[R]):
    """One request's hold on a runtime. Released once; a second release does nothing."""

    def __init__(self, runtimes: Runtimes[R], runtime: R) -> None:
        self.runtime = runtime
        self._runtimes = runtimes
        self._released = False

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        await self._runtimes._release(self.runtime)

    async def __aenter__(self) -> R:
        return self.runtime

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class Runtimes(Generic[R]):
    def __init__(self, current: R) -> None:
        self.current = current
        self._leases: dict[R, int] = {current: 0}  # every runtime not yet closed

    @property
    def open(self) -> int:
        """How many runtimes are not closed: the current one and the retired ones in use."""
        return len(self._leases)

    def leases(self, runtime: R) -> int:
        return self._leases.get(runtime, 0)

    def lease(self) -> Lease[R]:
        """Hold the current runtime for one request."""
        self._leases[self.current] += 1
        return Lease(self, self.current)

    async def replace(self, runtime: R) -> None:
        """Serve new requests from ``runtime``; the old one closes when no request holds it."""
        retired, self.current = self.current, runtime
        self._leases[runtime] = 0
        if self._leases[retired] == 0:
            await self._close(retired)

    async def aclose(self) -> None:
        """Close every runtime, held or not: the process is stopping."""
        runtimes, self._leases = list(self._leases), {}
        for runtime in runtimes:
            await _shielded_close(runtime)

    async def _release(self, runtime: R) -> None:
        count = self._leases.get(runtime)
        if count is None:
            return  # closed at shutdown already
        self._leases[runtime] = count - 1
        if count == 1 and runtime is not self.current:
            await self._close(runtime)

    async def _close(self, runtime: R) -> None:
        del self._leases[runtime]
        await _shielded_close(runtime)


async def _shielded_close(runtime: Closable) -> None:
    # A lease is often released while its request is being cancelled (the client went away):
    # the close must still run to the end, or the retired runtime's clients stay open.
    with anyio.CancelScope(shield=True):
        await runtime.aclose()

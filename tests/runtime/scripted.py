"""A provider whose answers the test writes, standing in for a remote model, and the providers a
`Runtime` is given in the runtime tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from clawgate.auth import Access
from clawgate.errors import Failed
from clawgate.providers import ModelRequest, Provider, Providers, StreamEvent

Script = list[StreamEvent | Failed]


class Scripted:
    """A provider answering each request with the next of its scripts (a `Failed` in a script is
    raised where it stands), and keeping the requests it was asked.

    A request beyond the last script is an error, unless the provider was made with
    `Scripted.always`: then every request gets the same script."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.requests: list[ModelRequest] = []
        self.again = False

    @classmethod
    def always(cls, script: Script) -> Scripted:
        """A provider answering every request, retries included, with ``script``."""
        provider = cls(script)
        provider.again = True
        return provider

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        self.requests.append(request)
        script = self.scripts[0] if self.again else self.scripts.pop(0)
        for event in script:
            if isinstance(event, Failed):
                raise event
            yield event

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return ()

    async def usage_windows(self, access: Access | None) -> None:
        return None

    async def aclose(self) -> None:
        pass


class Source:
    """The runtime's providers: the ones given, each under its provider name (``remote=...``);
    any other name gets the real provider of that name (the local engine, say)."""

    def __init__(self, **providers: Provider) -> None:
        self.providers = providers
        self.real = Providers({})

    def get(self, name: str) -> Provider:
        return self.providers.get(name) or self.real.get(name)

"""The table of providers: frozen specs, looked up by exact name.

Built-in providers register through `register`, the same call a plugin would use. A provider
id that is not registered but is configured with a ``baseUrl`` speaks the wire its ``api``
names (an Ollama or OpenRouter entry is just an ``openai-compatible`` one with its own id).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from clawgate.config import ProviderSettings
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass

if TYPE_CHECKING:  # types only: looking a provider up (routing's plan) needs neither module
    from clawgate.auth import Access
    from clawgate.providers._conversation import ModelRequest
    from clawgate.providers._events import StreamEvent, UsageWindows


class Provider(Protocol):
    def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Yield text deltas, then exactly one `Completed`; raise `Failed` on failure.

        ``access`` is the profile's way to its credential (through the broker); None for
        providers that need none."""
        ...

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        """The request's options this provider's wire cannot send (the caller's names, e.g.
        ``logit_bias``, or an unknown field a non-Chat-Completions wire drops): they are
        left out, and the caller is told."""
        ...

    async def usage_windows(self, access: Access | None) -> UsageWindows | None:
        """The account's usage windows where the provider reports them (a subscription's
        5-hour and weekly limits), else None."""
        ...

    async def aclose(self) -> None: ...


class ProviderSource(Protocol):
    def get(self, name: str) -> Provider: ...


@dataclass(frozen=True)
class ProviderSpec:
    """How to build a provider's transport. What a provider *is* (its credential, billing,
    logins, default models) is in `clawgate.catalog`, under the same id."""

    name: str
    create: Callable[[str, ProviderSettings], Provider]


_REGISTRY: dict[str, ProviderSpec] = {}

# For configured provider ids that are not registered: which spec speaks their `api`.
_BY_API = {
    "openai-completions": "openai-compatible",
    "openai-responses": "openai-compatible",
    "anthropic-messages": "anthropic",
}


def register(spec: ProviderSpec) -> None:
    if spec.name in _REGISTRY:
        raise ValueError(f"provider {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec


def lookup(name: str, settings: ProviderSettings | None = None) -> ProviderSpec:
    spec = _REGISTRY.get(name)
    if spec is None and settings is not None and settings.base_url:
        spec = _REGISTRY.get(_BY_API[settings.api or "openai-completions"])
    if spec is None:
        known = ", ".join(sorted(_REGISTRY))
        raise Failed(
            Failure(
                FailureClass.UNAVAILABLE,
                f"unknown provider {name!r} (known: {known})",
                fix="use a model ref of the form <provider>/<model> with a known provider, or "
                f"give models.providers.{name} a baseUrl and an api",
            )
        )
    return spec


class Providers:
    """One live provider instance per name for this process, built from the settings."""

    def __init__(self, settings: dict[str, ProviderSettings]) -> None:
        self._settings = settings
        self._live: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        provider = self._live.get(name)
        if provider is None:
            settings = self._settings.get(name) or ProviderSettings()
            provider = lookup(name, settings).create(name, settings)
            self._live[name] = provider
        return provider

    async def aclose(self) -> None:
        live, self._live = list(self._live.values()), {}
        for provider in live:
            await provider.aclose()

"""The table of providers: frozen specs, looked up by exact name.

Built-in providers register through `register`, the same call a plugin would use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from clawgate.config import ProviderSettings
from clawgate.failures import FailureClass
from clawgate.providers._errors import ProviderError
from clawgate.providers._events import ModelRequest, StreamEvent

BillingKind = Literal["subscription", "metered", "free"]


class Provider(Protocol):
    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Yield text deltas, then exactly one `Completed`; raise `ProviderError` on failure."""
        ...


class ProviderSource(Protocol):
    def get(self, name: str) -> Provider: ...


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    billing: BillingKind
    create: Callable[[ProviderSettings], Provider]
    default_models: tuple[str, ...] = ()


_REGISTRY: dict[str, ProviderSpec] = {}


def register(spec: ProviderSpec) -> None:
    if spec.name in _REGISTRY:
        raise ValueError(f"provider {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec


def lookup(name: str) -> ProviderSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ProviderError(
            FailureClass.UNAVAILABLE,
            f"unknown provider {name!r} (known: {known})",
            fix="use a model ref of the form <provider>/<model> with a known provider",
        ) from None


class Providers:
    """One live provider instance per name for this process, built from the settings."""

    def __init__(self, settings: dict[str, ProviderSettings]) -> None:
        self._settings = settings
        self._live: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        provider = self._live.get(name)
        if provider is None:
            spec = lookup(name)
            provider = spec.create(self._settings.get(name) or ProviderSettings())
            self._live[name] = provider
        return provider

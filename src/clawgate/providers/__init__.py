"""Providers: one module per provider, all speaking the normalized event stream.

Routing sees only `ProviderError.failure` and the events; never a provider's HTTP.
"""

from clawgate.providers import local
from clawgate.providers._errors import ProviderError
from clawgate.providers._events import (
    Completed,
    Message,
    ModelRequest,
    StreamEvent,
    TextDelta,
    Usage,
)
from clawgate.providers._registry import (
    BillingKind,
    Provider,
    Providers,
    ProviderSource,
    ProviderSpec,
    lookup,
    register,
)

register(local.SPEC)

__all__ = [
    "BillingKind",
    "Completed",
    "Message",
    "ModelRequest",
    "Provider",
    "ProviderError",
    "ProviderSource",
    "ProviderSpec",
    "Providers",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "lookup",
    "register",
]

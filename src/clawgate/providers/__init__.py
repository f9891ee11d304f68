"""Providers: one module per provider, all speaking the normalized event stream.

Routing sees only `ProviderError.failure` and the events; never a provider's HTTP.
"""

from clawgate.providers import anthropic, github_copilot, local, openai, openai_codex
from clawgate.providers._classify import Classifier
from clawgate.providers._errors import ProviderError, TimeoutPhase
from clawgate.providers._events import (
    Completed,
    Message,
    ModelRequest,
    StreamEvent,
    TextDelta,
    Usage,
)
from clawgate.providers._http import Access
from clawgate.providers._registry import (
    BillingKind,
    Provider,
    Providers,
    ProviderSource,
    ProviderSpec,
    lookup,
    register,
)

for _spec in (
    local.SPEC,
    openai.SPEC,
    openai.COMPATIBLE,
    openai_codex.SPEC,
    anthropic.SPEC,
    github_copilot.SPEC,
):
    register(_spec)

__all__ = [
    "Access",
    "BillingKind",
    "Classifier",
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
    "TimeoutPhase",
    "Usage",
    "lookup",
    "register",
]

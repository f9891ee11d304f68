"""Providers: one module per provider, all speaking the normalized event stream.

Routing sees only the events and the `Failure` a provider raises (as `clawgate.errors.Failed`);
never a provider's HTTP.
"""

from clawgate.providers import anthropic, github_copilot, local, openai, openai_codex
from clawgate.providers._classify import Classifier
from clawgate.providers._events import (
    Completed,
    Content,
    Message,
    ModelRequest,
    Phase,
    StreamEvent,
    TextDelta,
    Usage,
    UsageWindow,
    UsageWindows,
    is_content,
)
from clawgate.providers._registry import (
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
    "Classifier",
    "Completed",
    "Content",
    "Message",
    "ModelRequest",
    "Phase",
    "Provider",
    "ProviderSource",
    "ProviderSpec",
    "Providers",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "UsageWindow",
    "UsageWindows",
    "is_content",
    "lookup",
    "register",
]

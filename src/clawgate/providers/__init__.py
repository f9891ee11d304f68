"""Providers: one module per provider, all speaking the normalized event stream.

Routing sees only the events and the `Failure` a provider raises (as `clawgate.errors.Failed`);
never a provider's HTTP.

The face is lazy (PEP 562): each name is imported from its module when first asked for, and
the built-in providers are registered by name, their transports (httpx, each wire's encoder
and decoder) imported when the first instance is built. So what only plans a route or looks a
provider up (`clawgate models status`, docs/architecture.md) loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from clawgate.config import ProviderSettings
from clawgate.lazy import lazy_exports
from clawgate.providers._registry import (
    Provider,
    Providers,
    ProviderSource,
    ProviderSpec,
    lookup,
    register,
)

if TYPE_CHECKING:
    from clawgate.providers._classify import Classifier
    from clawgate.providers._conversation import (
        Detail,
        ImagePart,
        Message,
        ModelRequest,
        NamedTool,
        Options,
        Part,
        ResponseFormat,
        Role,
        TextPart,
        Tool,
        ToolCall,
        ToolChoice,
        from_record,
        text_of,
        to_record,
    )
    from clawgate.providers._embeddings import Embedder, EmbeddingRequest, Embeddings
    from clawgate.providers._events import (
        Answer,
        Completed,
        Content,
        Phase,
        StreamEvent,
        TextDelta,
        ToolCallDelta,
        Usage,
        UsageWindow,
        UsageWindows,
        is_content,
    )
    from clawgate.providers._responses_encode import input_items as responses_input_items

_WHERE = {
    "Classifier": "_classify",
    "Detail": "_conversation",
    "ImagePart": "_conversation",
    "Message": "_conversation",
    "ModelRequest": "_conversation",
    "NamedTool": "_conversation",
    "Options": "_conversation",
    "Part": "_conversation",
    "ResponseFormat": "_conversation",
    "Role": "_conversation",
    "TextPart": "_conversation",
    "Tool": "_conversation",
    "ToolCall": "_conversation",
    "ToolChoice": "_conversation",
    "from_record": "_conversation",
    "text_of": "_conversation",
    "to_record": "_conversation",
    "Embedder": "_embeddings",
    "EmbeddingRequest": "_embeddings",
    "Embeddings": "_embeddings",
    "Answer": "_events",
    "Completed": "_events",
    "Content": "_events",
    "Phase": "_events",
    "StreamEvent": "_events",
    "TextDelta": "_events",
    "ToolCallDelta": "_events",
    "Usage": "_events",
    "UsageWindow": "_events",
    "UsageWindows": "_events",
    "is_content": "_events",
    "responses_input_items": "_responses_encode",
}
_RENAMED = {"responses_input_items": "input_items"}

# The built-in providers: (id, module, the module's spec). Each module's spec has that id;
# tests/providers/test_lazy_registry.py checks it.
_BUILT_IN = (
    ("local", "local", "SPEC"),
    ("openai", "openai", "SPEC"),
    ("openai-compatible", "openai", "COMPATIBLE"),
    ("openai-codex", "openai_codex", "SPEC"),
    ("anthropic", "anthropic", "SPEC"),
    ("github-copilot", "github_copilot", "SPEC"),
)


def _deferred(name: str, module: str, attribute: str) -> ProviderSpec:
    """A spec that imports its module's spec, and builds through it, on first use."""

    def create(provider: str, settings: ProviderSettings) -> Provider:
        spec: ProviderSpec = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        return spec.create(provider, settings)

    return ProviderSpec(name, create)


for _name, _module, _attribute in _BUILT_IN:
    register(_deferred(_name, _module, _attribute))

__all__ = [
    "Answer",
    "Classifier",
    "Completed",
    "Content",
    "Detail",
    "Embedder",
    "EmbeddingRequest",
    "Embeddings",
    "ImagePart",
    "Message",
    "ModelRequest",
    "NamedTool",
    "Options",
    "Part",
    "Phase",
    "Provider",
    "ProviderSource",
    "ProviderSpec",
    "Providers",
    "ResponseFormat",
    "Role",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolChoice",
    "Usage",
    "UsageWindow",
    "UsageWindows",
    "from_record",
    "is_content",
    "lookup",
    "register",
    "responses_input_items",
    "text_of",
    "to_record",
]


__getattr__ = lazy_exports(__name__, _WHERE, _RENAMED)

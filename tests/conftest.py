from __future__ import annotations

from pathlib import Path

import pytest

from clawgate.config import Paths


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose state dir is a fresh temporary directory."""
    return {"CLAWGATE_STATE_DIR": str(tmp_path / "state")}


@pytest.fixture
def paths(state_env: dict[str, str]) -> Paths:
    return Paths.from_env(state_env)

"""One running gateway per test module (see `tests/gateway/running.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, start_gateway


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path_factory.mktemp("gw") / "state", _model_api)
    try:
        yield running
    finally:
        running.stop()

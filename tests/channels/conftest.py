"""The emulator per module; a gateway process per test with the channel on, its own bot token
(the emulator keeps each token's chats apart) and its owner already allowed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.emulator import Emulator, emulator
from tests.fakes.model_api import FakeModelAPI
from tests.gateway.running import RunningGateway, config, start_gateway

OWNER = 1001


@pytest.fixture(scope="module")
def tg() -> Iterator[Emulator]:
    with emulator() as running:
        yield running


def document(api: FakeModelAPI, tg: Emulator, **telegram: Any) -> dict[str, Any]:
    """The gateway tests' config with the channel on, polling the emulator quickly."""
    found = config(api.url)
    found["channels"] = {
        "telegram": {
            "enabled": True,
            "apiRoot": tg.url,
            "pollTimeout": 0,  # the emulator answers at once anyway
            "pollInterval": 0.05,
            **telegram,
        }
    }
    return found


StartGateway = Callable[..., RunningGateway]


@pytest.fixture
def telegram_gateway(
    tmp_path: Path, api: FakeModelAPI, tg: Emulator
) -> Iterator[Callable[..., tuple[RunningGateway, str]]]:
    """``start(owner=OWNER, **telegram settings)`` → (gateway, bot token): the token added
    with the CLI as a user would, the owner allowed, then the gateway started."""
    started: list[RunningGateway] = []

    def start(
        owner: int | None = OWNER, token: str | None = None, **telegram: Any
    ) -> tuple[RunningGateway, str]:
        token = token or tg.new_token()
        state = tmp_path / "state"
        gateway = start_gateway(state, api, document=document(api, tg, **telegram))
        started.append(gateway)
        added = gateway.cli("channels", "telegram", "add", "--token-stdin", stdin=token)
        assert added.exit_code == 0, added.output
        if owner is not None:
            assert gateway.cli("channels", "telegram", "allow", str(owner)).exit_code == 0
        return gateway, token

    yield start
    for gateway in started:
        gateway.stop()

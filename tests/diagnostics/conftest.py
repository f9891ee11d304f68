"""The diagnostics tests' servers: a real authorization server, and the model API fake
guarded by it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply, Seen
from tests.oidc_server import OidcServer, oidc_server


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


@pytest.fixture
def guarded(api: FakeModelAPI, idp: OidcServer) -> FakeModelAPI:
    """The model API answers only requests whose bearer the authorization server accepts."""

    def authorize(seen: Seen) -> Reply | None:
        header = {"Authorization": seen.headers.get("authorization", "")}
        accepted = httpx.get(f"{idp.issuer}/me", headers=header).status_code == 200
        return None if accepted else OPENAI["unauthorized"]

    api.authorize = authorize
    return api

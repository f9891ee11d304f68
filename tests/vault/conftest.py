"""Every vault test runs on both storage backends: files and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.vault_backends import vault_backend

__all__ = ["vault_backend"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "files_only(reason): a test of what exists only on the file backend"
    )
    config.addinivalue_line(
        "markers", "postgres_only: a test of what only PostgreSQL does (the database away)"
    )


@pytest.fixture(autouse=True)
def _every_backend(request: pytest.FixtureRequest, vault_backend: str) -> str:
    marker = request.node.get_closest_marker("files_only")
    if marker is not None and vault_backend != "files":
        pytest.skip(f"files only: {marker.kwargs['reason']}")
    if request.node.get_closest_marker("postgres_only") and vault_backend != "postgres":
        pytest.skip("PostgreSQL only")
    return vault_backend

"""The dashboard's routes under the gateway's hostile-request property (tests/gateway/
test_properties.py): whatever method, path parameters, headers and body arrive, the answer is
never a 5xx and nothing is logged as an error."""

from __future__ import annotations

import logging

import pytest

from tests.gateway.hostile import registered
from tests.gateway.test_properties import (
    EXAMPLES_PER_ROUTE,
    Served,
    errors_logged,
    run,
    served,  # noqa: F401 (the fixture)
)


def test_every_dashboard_route_answers_hostile_requests_without_a_5xx(
    served: Served,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    routes = [(m, p) for m, p in registered(served.local.app) if p.startswith("/ui")]
    assert len(routes) >= 10
    caplog.set_level(logging.WARNING)
    for method, template in routes:
        run(served, method, template, EXAMPLES_PER_ROUTE)
    assert errors_logged(caplog) == []

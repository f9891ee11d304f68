from __future__ import annotations

import pytest

from clawgate.auth._jwt import claims, expiry
from tests.auth.openclaw_fixture import jwt


def test_claims_and_expiry_of_a_jwt() -> None:
    token = jwt({"exp": 1_900_000_000, "email": "me@example.com"})
    assert claims(token) == {"exp": 1_900_000_000, "email": "me@example.com"}
    assert expiry(token) == 1_900_000_000.0


@pytest.mark.parametrize(
    "token", ["", "opaque-token", "a.b", "a..c", "!!!.###.x", "eyJ9.eyJ9.x", "W10.W10.x"]
)
def test_anything_else_is_not_a_jwt(token: str) -> None:
    assert claims(token) is None
    assert expiry(token) is None


def test_a_nonsense_exp_is_ignored() -> None:
    assert expiry(jwt({"exp": "tomorrow"})) is None
    assert expiry(jwt({"exp": -5})) is None

from __future__ import annotations

import pytest

from clawgate.config import Settings
from clawgate.routing import Candidate, RoutingError, plan, resolve_ref


def settings(**model: object) -> Settings:
    return Settings.model_validate(
        {
            "agents": {
                "defaults": {
                    "model": model,
                    "models": {"openai-codex/gpt-5.5": {"alias": "gpt"}},
                }
            }
        }
    )


def test_default_chain_is_primary_then_fallbacks_without_duplicates() -> None:
    s = settings(primary="gpt", fallbacks=["anthropic/claude", "openai-codex/gpt-5.5", "local/m"])
    assert [c.ref for c in plan(s).candidates] == [
        "openai-codex/gpt-5.5",
        "anthropic/claude",
        "local/m",
    ]


def test_an_explicit_model_is_strict() -> None:
    s = settings(primary="local/m", fallbacks=["anthropic/claude"])
    assert plan(s, "anthropic/claude").candidates == [
        Candidate("anthropic", "claude", profile="anthropic:default")
    ]


def test_model_ids_may_contain_slashes() -> None:
    assert resolve_ref("openrouter/meta/llama-3", Settings()) == ("openrouter", "meta/llama-3")


def test_an_alias_resolves_to_its_model() -> None:
    assert resolve_ref("gpt", settings()) == ("openai-codex", "gpt-5.5")


@pytest.mark.parametrize("ref", ["gpt5", "/model", "provider/", ""])
def test_a_ref_that_is_neither_model_nor_alias_is_refused(ref: str) -> None:
    with pytest.raises(RoutingError) as info:
        resolve_ref(ref, settings())
    assert "aliases: gpt" in info.value.message
    assert info.value.exit_code == 2

"""`embedding_plan`: the chain or one requested model (strict), and the rule that a fallback
must make the first model's vectors (another profile of it, or a model of equal dimensions)."""

from __future__ import annotations

from typing import Any

import pytest

from clawgate.config import Settings
from clawgate.routing import (
    EmbeddingPlan,
    EmbeddingsUnconfigured,
    ProfileInfo,
    Skip,
    embedding_plan,
)

OAI = "openai-completions"


def settings(chain: Any = None, **models: tuple[str, int | None]) -> Settings:
    """Providers ``a``, ``b``, … (``name=(api, dimensions)``) each with the model ``m``."""
    providers = {
        name: {
            "api": api,
            "baseUrl": f"http://127.0.0.1:9/{name}",
            "models": [{"id": "m"} if size is None else {"id": "m", "dimensions": size}],
        }
        for name, (api, size) in models.items()
    }
    defaults = {} if chain is None else {"embeddings": chain}
    return Settings.model_validate(
        {"agents": {"defaults": defaults}, "models": {"providers": providers}}
    )


class TwoProfiles:
    """Every provider has two subscription profiles, ``<p>:1`` then ``<p>:2``."""

    def profiles(self, provider: str) -> list[ProfileInfo]:
        return [ProfileInfo(f"{provider}:1", "subscription"), ProfileInfo(f"{provider}:2", "free")]


def steps(route: EmbeddingPlan) -> list[tuple[str, str, str | None]]:
    return [
        (s.candidate.ref, s.decision, s.reason) if isinstance(s, Skip) else (s.ref, "try", None)
        for s in route.plan.steps
    ]


# -- the plan -----------------------------------------------------------------------------------


def test_fallbacks_must_make_the_first_models_vectors() -> None:
    chosen = settings(
        {"primary": "a/m", "fallbacks": ["wide/m", "b/m", "bare/m"]},
        a=(OAI, 8),
        wide=(OAI, 16),
        b=(OAI, 8),
        bare=(OAI, None),
    )
    route = embedding_plan(chosen)
    assert route.dimensions == 8
    assert route.plan.requested is None
    assert steps(route) == [
        ("a/m", "try", None),
        ("wide/m", "skip_capability", "dimensions"),
        ("b/m", "try", None),
        ("bare/m", "skip_capability", "dimensions"),
    ]
    wide = route.plan.steps[1]
    assert isinstance(wide, Skip)
    assert wide.message == (
        "wide/m makes 16-dimension vectors, a/m 8-dimension ones: "
        "vectors from different models are never mixed"
    )


def test_another_profile_of_the_first_model_is_always_a_fallback() -> None:
    chosen = settings({"primary": "a/m", "fallbacks": ["b/m"]}, a=(OAI, None), b=(OAI, None))
    route = embedding_plan(chosen, profiles=TwoProfiles())
    assert route.dimensions is None
    # Unknown dimensions: only the same model is known to make the same vectors.
    assert steps(route) == [
        ("a/m", "try", None),
        ("a/m", "try", None),
        ("b/m", "skip_capability", "dimensions"),
        ("b/m", "skip_capability", "dimensions"),
    ]


def test_a_requested_model_is_strict() -> None:
    chosen = settings({"primary": "a/m", "fallbacks": ["b/m"]}, a=(OAI, 8), b=(OAI, 8))
    route = embedding_plan(chosen, "b/m")
    assert route.plan.requested == "b/m"
    assert steps(route) == [("b/m", "try", None)]


def test_the_default_chain_is_the_embedded_model() -> None:
    route = embedding_plan(Settings())
    assert steps(route) == [("local/smollm2-135m", "try", None)]
    assert route.dimensions == 576


def test_no_chain_names_the_config_key() -> None:
    chosen = Settings.model_validate({"agents": {"defaults": {"embeddings": None}}})
    with pytest.raises(EmbeddingsUnconfigured) as refused:
        embedding_plan(chosen)
    assert "agents.defaults.embeddings" in refused.value.message
    assert refused.value.fix is not None
    assert "agents.defaults.embeddings.primary" in refused.value.fix


def test_a_provider_that_cannot_embed_is_skipped_for_it() -> None:
    chosen = settings(
        {"primary": "a/m", "fallbacks": ["anthropic/claude-sonnet-4-5", "msg/m"]},
        a=(OAI, 8),
        msg=("anthropic-messages", 8),
    )
    assert steps(embedding_plan(chosen)) == [
        ("a/m", "try", None),
        ("anthropic/claude-sonnet-4-5", "skip_capability", "embeddings"),
        ("msg/m", "skip_capability", "embeddings"),
    ]


def test_openais_own_embedding_models_have_known_dimensions() -> None:
    chosen = settings(
        {"primary": "openai/text-embedding-3-small", "fallbacks": ["a/m"]}, a=(OAI, 1536)
    )
    route = embedding_plan(chosen)
    assert route.dimensions == 1536
    assert [s for s in steps(route) if s[1] != "try"] == []

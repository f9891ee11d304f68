"""`clawgate.catalog`: the built-in facts of each provider, what a configured provider's
``auth`` and ``oauth.issuer`` make of them, and the fix commands every layer quotes."""

from __future__ import annotations

from typing import Any

import pytest

from clawgate import catalog
from clawgate.catalog import BILLING, ProviderFacts, TokenShape, facts, register, repair
from clawgate.config import OAuthSettings, ProviderSettings

LOGIN = "clawgate models auth login --provider"


def configured(**fields: Any) -> ProviderSettings:
    return ProviderSettings.model_validate(fields)


# -- built in ---------------------------------------------------------------------------------

# id → (credential, billing, logins, default models)
BUILT_IN = {
    "local": ("none", "free", (), ("smollm2-135m",)),
    "openai": ("api_key", "metered", (), ("gpt-4.1-mini",)),
    "openai-codex": ("oauth", "subscription", ("browser", "device-code"), ("gpt-5-codex",)),
    "anthropic": ("token", "subscription", ("paste-token",), ("claude-sonnet-4-5",)),
    "github-copilot": ("token", "subscription", ("device-code",), ("gpt-4.1",)),
}


@pytest.mark.parametrize("provider", sorted(BUILT_IN))
def test_built_in_facts(provider: str) -> None:
    known = facts(provider)
    assert known.id == provider
    assert (known.credential, known.billing, known.logins, known.default_models) == (
        BUILT_IN[provider]
    )
    assert known.needs_credential is (known.credential != "none")


def test_billing_follows_the_credential() -> None:
    assert dict(BILLING) == {
        "oauth": "subscription",
        "token": "subscription",
        "api_key": "metered",
        "none": "free",
    }


def test_only_anthropic_documents_a_token_shape() -> None:
    shapes = {p: facts(p).token_shape for p in BUILT_IN}
    assert shapes.pop("anthropic") == TokenShape(
        "sk-ant-oat01-", "an Anthropic setup token (made by `claude setup-token`)"
    )
    assert set(shapes.values()) == {None}


def test_a_built_in_without_settings_or_with_empty_settings_is_the_same_record() -> None:
    assert facts("openai-codex", ProviderSettings()) is facts("openai-codex")
    assert facts("openai", configured(baseUrl="http://127.0.0.1:1/v1")) is facts("openai")


def test_facts_are_frozen() -> None:
    with pytest.raises(AttributeError):
        facts("openai").credential = "none"  # type: ignore[misc]


# -- fix commands -----------------------------------------------------------------------------


def test_a_device_login_is_the_fix_where_there_is_one() -> None:
    assert facts("openai-codex").fix() == f"{LOGIN} openai-codex --device-code"
    assert facts("github-copilot").fix() == f"{LOGIN} github-copilot --device-code"


def test_else_the_login_else_the_key_command() -> None:
    assert facts("anthropic").fix() == f"{LOGIN} anthropic"
    assert facts("openai").fix() == (
        'echo "$KEY" | clawgate models auth add --provider openai --api-key-stdin'
    )


def test_a_named_method_is_passed_as_is() -> None:
    assert facts("openai-codex").fix("browser") == f"{LOGIN} openai-codex --method browser"
    assert facts("anthropic").fix("paste-token") == f"{LOGIN} anthropic --method paste-token"


def test_the_key_command_names_the_provider() -> None:
    assert facts("anthropic").key_command() == (
        'echo "$KEY" | clawgate models auth add --provider anthropic --api-key-stdin'
    )


def test_repair_is_a_built_ins_own_fix_else_the_login() -> None:
    assert repair("openai") == facts("openai").key_command()
    assert repair("openai-codex") == f"{LOGIN} openai-codex --device-code"
    assert repair("work-llm") == f"{LOGIN} work-llm"


# -- configured providers ---------------------------------------------------------------------


def test_an_unknown_id_without_config_is_a_keyless_server() -> None:
    known = facts("ollama")
    assert known == ProviderFacts("ollama", "none")
    assert (known.billing, known.needs_credential, known.logins) == ("free", False, ())


@pytest.mark.parametrize(
    ("auth", "credential", "billing"),
    [
        ("none", "none", "free"),
        ("api-key", "api_key", "metered"),
        ("oauth", "oauth", "subscription"),
        ("token", "token", "subscription"),
    ],
)
def test_a_configured_providers_auth_names_its_credential(
    auth: str, credential: str, billing: str
) -> None:
    known = facts("work-llm", configured(auth=auth))
    assert (known.id, known.credential, known.billing) == ("work-llm", credential, billing)
    assert known.logins == ()
    assert known.token_shape is None
    assert known.default_models == ()


def test_an_oauth_issuer_gives_the_browser_and_device_logins() -> None:
    settings = ProviderSettings(
        auth="oauth", oauth=OAuthSettings(issuer="https://id.example", client_id="c")
    )
    known = facts("work-llm", settings)
    assert (known.credential, known.billing) == ("oauth", "subscription")
    assert known.logins == ("browser", "device-code")
    assert known.fix() == f"{LOGIN} work-llm --device-code"


def test_an_oauth_block_without_an_issuer_gives_no_login() -> None:
    known = facts("work-llm", configured(auth="oauth", oauth={"clientId": "c"}))
    assert known.logins == ()
    assert known.fix() == (
        'echo "$KEY" | clawgate models auth add --provider work-llm --api-key-stdin'
    )


def test_an_issuer_without_a_declared_auth_means_oauth() -> None:
    known = facts("work-llm", configured(oauth={"issuer": "https://id.example", "clientId": "c"}))
    assert known.logins == ("browser", "device-code")
    assert known.credential == "oauth"


def test_auth_overrides_a_built_ins_credential_and_keeps_the_rest() -> None:
    known = facts("anthropic", configured(auth="api-key"))
    assert known is not facts("anthropic")
    assert (known.credential, known.billing) == ("api_key", "metered")
    assert known.logins == ("paste-token",)
    assert known.token_shape == facts("anthropic").token_shape
    assert known.default_models == ("claude-sonnet-4-5",)


def test_auth_none_makes_a_built_in_keyless() -> None:
    known = facts("openai", configured(auth="none", baseUrl="http://127.0.0.1:8080/v1"))
    assert (known.credential, known.billing, known.needs_credential) == ("none", "free", False)
    assert known.default_models == ("gpt-4.1-mini",)


@pytest.mark.parametrize("provider", ["openai-codex", "github-copilot", "anthropic"])
def test_an_issuer_for_a_built_in_keeps_its_own_logins_and_credential(provider: str) -> None:
    known = facts(provider, configured(oauth={"issuer": "http://127.0.0.1:9"}))
    assert known == facts(provider)
    assert known is not facts(provider)  # rebuilt, equal


def test_an_issuer_gives_a_key_only_built_in_the_oauth_logins() -> None:
    known = facts("openai", configured(auth="oauth", oauth={"issuer": "https://id.example"}))
    assert known.logins == ("browser", "device-code")
    assert known.fix() == f"{LOGIN} openai --device-code"


# -- register ---------------------------------------------------------------------------------


def test_register_refuses_a_duplicate_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_FACTS", dict(catalog._FACTS))
    original = facts("openai")
    with pytest.raises(ValueError, match="'openai' is already registered"):
        register(ProviderFacts("openai", "none"))
    assert facts("openai") is original

    mine = ProviderFacts("mine", "token", ("paste-token",), TokenShape("mt-", "a mine token"))
    register(mine)
    assert facts("mine") is mine
    assert repair("mine") == f"{LOGIN} mine"
    with pytest.raises(ValueError, match="already registered"):
        register(ProviderFacts("mine", "api_key"))
    assert facts("mine") is mine

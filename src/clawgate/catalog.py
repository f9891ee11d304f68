"""What clawgate knows about each provider before anything runs: the credential a turn needs,
its billing kind, how it logs in, the shape of a token to paste, its default models.

One frozen record per provider id, looked up by exact id (docs/style.md, "Registries are
tables of frozen specs"). Auth, the vault, providers, routing and diagnostics all ask here,
so a fact is written once. A provider id that is not built in is described by its
``models.providers.<id>`` config (``auth``, ``oauth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from clawgate.config import ProviderSettings

__all__ = [
    "BILLING",
    "CHANNEL_PROVIDERS",
    "Abilities",
    "BillingKind",
    "Capability",
    "CredentialKind",
    "LoginMethod",
    "ProviderFacts",
    "TokenShape",
    "abilities",
    "dimensions",
    "embeds",
    "facts",
    "known",
    "register",
    "repair",
]

BillingKind = Literal["subscription", "metered", "free"]
# The kinds of profile (docs/auth.md, "Profiles"); the vault's `Kind` has the same values.
CredentialKind = Literal["oauth", "token", "api_key", "none"]
LoginMethod = Literal["browser", "device-code", "paste-token"]

# Profiles of these "providers" hold a chat channel's credential (the Telegram bot token,
# `telegram:default`), not a model's: listed and checked like any profile, never probed.
CHANNEL_PROVIDERS = frozenset({"telegram"})

# Who pays for a turn, by the kind of credential that served it (docs/routing.md, "Billing-kind").
BILLING: Mapping[CredentialKind, BillingKind] = {
    "oauth": "subscription",
    "token": "subscription",
    "api_key": "metered",
    "none": "free",
}


@dataclass(frozen=True)
class TokenShape:
    """A token the provider documents: a paste that does not start with ``prefix`` is refused."""

    prefix: str
    what: str  # for the refusal: "an Anthropic setup token (made by …)"


Capability = Literal["tools", "image", "json_schema", "reasoning"]


@dataclass(frozen=True)
class Abilities:
    """What a provider's models can do, unless the config says otherwise for one model."""

    tools: bool = True
    image: bool = False
    json_schema: bool = False
    reasoning: bool = False

    def lacks(self, needs: frozenset[Capability]) -> tuple[Capability, ...]:
        return tuple(sorted(n for n in needs if not getattr(self, n)))


@dataclass(frozen=True)
class ProviderFacts:
    id: str
    credential: CredentialKind  # what a turn needs when nothing is stored yet
    logins: tuple[LoginMethod, ...] = ()  # the first is the default; () means a key only
    token_shape: TokenShape | None = None
    default_models: tuple[str, ...] = ()
    # A provider id of your own (Ollama, vLLM, …) is taken to do text and tools only, as
    # OpenClaw takes a custom model: say `input: ["text", "image"]` on a model that sees.
    abilities: Abilities = Abilities()
    embeds: bool = False  # its transport answers ``/v1/embeddings`` requests
    # The embedding models it is known for, with the length of their vectors.
    embedding_models: tuple[tuple[str, int], ...] = ()

    @property
    def billing(self) -> BillingKind:
        return BILLING[self.credential]

    @property
    def needs_credential(self) -> bool:
        return self.credential != "none"

    def takes(self, kind: str) -> bool:
        """Whether a stored credential of ``kind`` (``api_key``, ``oauth``, ``token``) is one
        this provider can use: an OAuth login filed under an API-key provider is not (its
        token would go to the wrong endpoint). Token providers take keys too (Anthropic)."""
        if self.credential == "api_key":
            return kind == "api_key"
        if self.credential == "oauth":
            return kind in ("oauth", "token")
        return True

    def fix(self, method: LoginMethod | None = None) -> str:
        """The command that gives this provider a working credential: the headless device
        login where there is one (it works over SSH too), else the login, else a key."""
        login = f"clawgate models auth login --provider {self.id}"
        if method is not None:
            return f"{login} --method {method}"
        if "device-code" in self.logins:
            return f"{login} --device-code"
        if self.logins:
            return login
        return self.key_command()

    def key_command(self) -> str:
        """The command that stores (or replaces) an API key for this provider."""
        return f'echo "$KEY" | clawgate models auth add --provider {self.id} --api-key-stdin'


_FACTS: dict[str, ProviderFacts] = {}


def repair(provider: str) -> str:
    """The command that stores a provider's credential again, for code that has no config at
    hand (the vault): a built-in provider's own, else the login (an issuer in the config)."""
    known = _FACTS.get(provider)
    if known is not None:
        return known.fix()
    return f"clawgate models auth login --provider {provider}"


def register(entry: ProviderFacts) -> None:
    if entry.id in _FACTS:
        raise ValueError(f"provider {entry.id!r} is already registered")
    _FACTS[entry.id] = entry


def known() -> tuple[str, ...]:
    """The built-in provider ids (a configured ``models.providers`` entry adds its own)."""
    return tuple(sorted(_FACTS))


def facts(provider: str, settings: ProviderSettings | None = None) -> ProviderFacts:
    """The provider's facts: the built-in record, with the config's word on the credential
    (``auth``) taking precedence; for other ids, what the config says."""
    known = _FACTS.get(provider)
    declared = settings.auth if settings is not None else None
    has_issuer = bool(settings and settings.oauth and settings.oauth.issuer)
    if known is not None and declared is None and not has_issuer:
        return known
    logins = known.logins if known else ()
    if has_issuer and not logins:
        logins = ("browser", "device-code")  # any OAuth 2.0 issuer: RFC 8252 and RFC 8628
    if declared is not None:
        credential = _DECLARED[declared]
    elif known is not None:
        credential = known.credential
    else:
        # Not built in and nothing declared: an issuer means logging in; otherwise a keyless
        # server (Ollama, llama.cpp, vLLM).
        credential = "oauth" if has_issuer else "none"
    return ProviderFacts(
        provider,
        credential,
        logins,
        known.token_shape if known else None,
        known.default_models if known else (),
        known.abilities if known else Abilities(),
        known.embeds if known else False,
        known.embedding_models if known else (),
    )


def abilities(provider: str, model: str, settings: ProviderSettings | None) -> Abilities:
    """What ``provider/model`` can do: the provider's defaults, then the model's own entry
    in ``models.providers.<provider>.models``."""
    found = facts(provider, settings).abilities
    entry = next((m for m in settings.models if m.id == model), None) if settings else None
    if entry is None:
        return found
    return Abilities(
        tools=found.tools if entry.tools is None else entry.tools,
        image=found.image if entry.input is None else "image" in entry.input,
        json_schema=found.json_schema if entry.json_schema is None else entry.json_schema,
        reasoning=found.reasoning if entry.reasoning is None else entry.reasoning,
    )


def embeds(provider: str, settings: ProviderSettings | None) -> bool:
    """Whether ``provider`` can make embeddings: a built-in one says; any other id is a
    server on the wire its ``api`` names, and the OpenAI wires have ``/embeddings``."""
    known = _FACTS.get(provider)
    if known is not None:
        return known.embeds
    return settings is None or settings.api != "anthropic-messages"


def dimensions(provider: str, model: str, settings: ProviderSettings | None) -> int | None:
    """The length of ``provider/model``'s embedding vectors: its ``dimensions`` in
    ``models.providers.<provider>.models``, else what the provider is known for, else None."""
    entry = next((m for m in settings.models if m.id == model), None) if settings else None
    if entry is not None and entry.dimensions is not None:
        return entry.dimensions
    known = _FACTS.get(provider)
    return dict(known.embedding_models).get(model) if known else None


# ``models.providers.<id>.auth`` → the kind of credential it means.
_DECLARED: Mapping[str, CredentialKind] = {
    "none": "none",
    "api-key": "api_key",
    "oauth": "oauth",
    "token": "token",
}

_EVERYTHING = Abilities(tools=True, image=True, json_schema=True, reasoning=True)

for _entry in (
    # SmolLM2-135M has no tool-calling chat template and no eyes; its hidden states, mean
    # pooled by llama.cpp, are 576-long embeddings.
    ProviderFacts(
        "local",
        "none",
        default_models=("smollm2-135m",),
        abilities=Abilities(False),
        embeds=True,
        embedding_models=(("smollm2-135m", 576),),
    ),
    ProviderFacts(
        "openai",
        "api_key",
        default_models=("gpt-4.1-mini",),
        abilities=_EVERYTHING,
        embeds=True,
        # https://platform.openai.com/docs/guides/embeddings#embedding-models
        embedding_models=(
            ("text-embedding-3-small", 1536),
            ("text-embedding-3-large", 3072),
            ("text-embedding-ada-002", 1536),
        ),
    ),
    ProviderFacts(
        "openai-codex",
        "oauth",
        ("browser", "device-code"),
        default_models=("gpt-5-codex",),
        abilities=_EVERYTHING,
    ),
    ProviderFacts(
        "anthropic",
        "token",
        ("paste-token",),
        TokenShape("sk-ant-oat01-", "an Anthropic setup token (made by `claude setup-token`)"),
        default_models=("claude-sonnet-4-5",),
        # The Messages API has no response_format: a JSON-schema turn goes elsewhere.
        abilities=Abilities(tools=True, image=True, json_schema=False, reasoning=True),
    ),
    ProviderFacts(
        "github-copilot",
        "token",
        ("device-code",),
        default_models=("gpt-4.1",),
        abilities=Abilities(tools=True, image=True, json_schema=True),
    ),
):
    register(_entry)

"""The typed settings that ``clawgate.json`` validates into (docs/configuration.md).

Keys are camelCase in the file, as in OpenClaw; fields are snake_case here. Unknown keys are
kept (``extra="allow"``) so that the loader can warn about them by path instead of failing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_LOCAL_MODEL = "smollm2-135m"
DEFAULT_PRIMARY = f"local/{DEFAULT_LOCAL_MODEL}"

ProfileMode = Literal["oauth", "token", "api_key", "none"]
Fallthrough = Literal["same-kind", "any", "none"]
PoolStrategy = Literal["ordered", "round-robin", "fill-first", "least-used"]
ProviderApi = Literal["openai-completions", "openai-responses", "anthropic-messages"]
ProviderAuth = Literal["none", "api-key", "oauth", "token"]


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=True,
    )


class ProfileMeta(_Section):
    """Metadata of one auth profile; the material itself lives in the vault."""

    provider: str
    mode: ProfileMode
    email: str | None = None


class AuthSettings(_Section):
    profiles: dict[str, ProfileMeta] = Field(default_factory=dict)
    order: dict[str, list[str]] = Field(default_factory=dict)
    fallthrough: Fallthrough = "same-kind"
    # How a provider's profiles share turns (docs/routing.md, "Account pools").
    strategy: dict[str, PoolStrategy] = Field(default_factory=dict)
    refresh_margin_seconds: int = Field(default=300, ge=0)


class ModelParams(_Section):
    context_tokens: int | None = Field(default=None, gt=0)


class ModelOptions(_Section):
    alias: str | None = None
    params: ModelParams = Field(default_factory=ModelParams)


class ModelSelection(_Section):
    primary: str = Field(default=DEFAULT_PRIMARY, min_length=1)
    fallbacks: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # OpenClaw accepts `model: "provider/model"` for a primary with no fallbacks.
        return {"primary": value} if isinstance(value, str) else value


class AgentDefaults(_Section):
    model: ModelSelection = Field(default_factory=ModelSelection)
    models: dict[str, ModelOptions] = Field(default_factory=dict)
    # The chain ``POST /v1/embeddings`` walks for the model "clawgate": the embedded model
    # embeds too. A fallback answers only if its vectors have the primary's `dimensions`;
    # ``null`` turns the chain off (a request must then name its model).
    embeddings: ModelSelection | None = Field(default_factory=ModelSelection)


class AgentsSettings(_Section):
    defaults: AgentDefaults = Field(default_factory=AgentDefaults)


class Timeouts(_Section):
    """Seconds; docs/routing.md ("Timeouts") gives the defaults."""

    connect: float = Field(default=10, gt=0)
    first_token: float = Field(default=30, gt=0)
    idle: float = Field(default=30, gt=0)
    total: float = Field(default=300, gt=0)


class ModelCost(_Section):
    """Prices in dollars per million tokens, as OpenClaw's model entry spells them: `clawgate
    usage` estimates what metered turns cost from them (`cacheWrite` is taken, not used)."""

    input: float = Field(default=0, ge=0)
    output: float = Field(default=0, ge=0)
    cache_read: float | None = Field(default=None, ge=0)  # cached input; else input's price
    cache_write: float = Field(default=0, ge=0)


class ProviderModel(_Section):
    id: str = Field(min_length=1)
    cost: ModelCost | None = None  # for the usage estimate of metered turns
    context_window: int | None = Field(default=None, gt=0)
    # What the model can do, where it differs from its provider's defaults (OpenClaw's model
    # entry spells the first two the same way): a turn that needs more skips the model.
    input: list[Literal["text", "image"]] | None = None
    # The wire this model is served on, where a provider serves models on more than one
    # (GitHub Copilot serves some only on its Responses endpoint).
    api: ProviderApi | None = None
    reasoning: bool | None = None
    tools: bool | None = None
    json_schema: bool | None = None
    # An embedding model's vector length: embeddings fall back only between equal ones.
    dimensions: int | None = Field(default=None, gt=0)
    # Only for the local provider: a GGUF file on disk.
    path: str | None = None


class OAuthSettings(_Section):
    """A provider's OAuth client. Every endpoint defaults from the issuer (discovery or the
    provider's documented paths) and can be set here for self-hosted issuers and tests."""

    issuer: str | None = None
    client_id: str | None = None
    scopes: list[str] | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    # github-copilot: where the GitHub login is exchanged for a short-lived Copilot token.
    copilot_token_endpoint: str | None = None


class ProviderSettings(_Section):
    api: ProviderApi | None = None
    base_url: str | None = None
    auth: ProviderAuth | None = None
    oauth: OAuthSettings | None = None
    models: list[ProviderModel] = Field(default_factory=list)
    timeouts: Timeouts | None = None


class ModelsSettings(_Section):
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)


MAX_BODY_BYTES = 32 << 20  # images make bodies large; OpenAI takes up to 50 MB of them


class GatewaySettings(_Section):
    bind: str = "127.0.0.1"
    port: int = Field(default=18789, ge=1, le=65535)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024)
    # Seconds a client has to send a request's headers, then its body (slow clients: a
    # connection that takes longer is answered 408 and closed).
    header_timeout: float = Field(default=10, gt=0)
    body_timeout: float = Field(default=30, gt=0)
    # Host names (besides the bind address and localhost) a request may name, and browser
    # origins that may call the gateway cross-origin (`gateway._hosts`: DNS rebinding, CORS).
    allowed_hosts: list[str] = Field(default_factory=list)
    cors: list[str] = Field(default_factory=list)
    # Processes serving one port (SO_REUSEPORT), sharing the state directory.
    workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _origins_are_origins(self) -> GatewaySettings:
        for origin in self.cors:
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(
                    f"cors: {origin!r} is not an origin; write it as scheme://host[:port], "
                    'e.g. "https://app.example.com"'
                )
        return self


TELEGRAM_API = "https://api.telegram.org"


class TelegramWebhook(_Section):
    """Updates pushed to the gateway (``POST /channels/telegram/webhook``) instead of polled;
    the secret token Telegram echoes back is kept in the vault, not here."""

    url: str = Field(min_length=1)  # the public https address that reaches that path


class TelegramSettings(_Section):
    """The Telegram channel (README, "Telegram"); its bot token is the vault profile
    ``telegram:default`` (``clawgate channels telegram add --token-stdin``)."""

    enabled: bool = False
    # The Bot API's base URL: Telegram's own, a self-hosted Bot API server, or an emulator.
    api_root: str = Field(default=TELEGRAM_API, min_length=1)
    mode: Literal["polling", "webhook"] = "polling"
    webhook: TelegramWebhook | None = None
    model: ModelSelection | None = None  # this channel's chain; None: the agent's
    system_prompt: str | None = None
    footer: Literal["fallback", "always", "never"] = "fallback"
    # Group chats (ids, negative) the bot answers in, when it is mentioned or replied to.
    groups: list[int] = Field(default_factory=list)
    allow_from: list[int | str] = Field(default_factory=list)  # users allowed without pairing
    poll_timeout: float = Field(default=30, ge=0, le=50)  # getUpdates long-poll seconds
    poll_interval: float = Field(default=0, ge=0, le=60)  # pause after an empty poll
    draft_interval: float = Field(default=1.0, ge=0.2, le=30)  # at most one draft edit so often

    @model_validator(mode="after")
    def _webhook_has_url(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook is None:
            raise ValueError('mode "webhook" needs webhook.url (the public https address)')
        return self


class ChannelsSettings(_Section):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)


class RoutingSettings(_Section):
    # A stream that breaks after content is continued by a candidate (docs/routing.md,
    # "Resumable streams"); "off" ends it with an explicit error.
    resume: Literal["auto", "off"] = "auto"


class StateSettings(_Section):
    # Where state.db's records and the vault's envelopes live: files in the state directory,
    # or PostgreSQL (CLAWGATE_DATABASE_URL; never a config value) shared by several gateways.
    backend: Literal["sqlite", "postgres"] = "sqlite"


class Settings(_Section):
    """The whole of ``clawgate.json``; an empty file means every default."""

    auth: AuthSettings = Field(default_factory=AuthSettings)
    agents: AgentsSettings = Field(default_factory=AgentsSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    channels: ChannelsSettings = Field(default_factory=ChannelsSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    state: StateSettings = Field(default_factory=StateSettings)

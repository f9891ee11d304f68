"""What a profile holds, by kind (docs/auth.md, "Profiles"), and its durable status.

Material is validated when it is built: no empty tokens, no ``expires: 0`` placeholders, so
nothing token-less can ever reach the disk.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

from clawgate.catalog import BILLING, BillingKind
from clawgate.secret import Secret


class Kind(StrEnum):
    OAUTH = "oauth"
    TOKEN = "token"  # noqa: S105 (a kind of profile, not a password)
    API_KEY = "api_key"
    NONE = "none"

    @property
    def billing(self) -> BillingKind:
        return BILLING[self.value]


class MaterialError(ValueError):
    """Material that must not be stored; the message names the field, never its value."""


def _secret(value: Secret, name: str) -> None:
    if not value.reveal().strip():
        raise MaterialError(f"{name} is empty")


def _expiry(value: float | None, name: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise MaterialError(f"{name} must be a positive time, not a placeholder")


@dataclass(frozen=True)
class OAuthMaterial:
    kind: ClassVar[Kind] = Kind.OAUTH
    access: Secret
    refresh: Secret | None
    expires_at: float | None
    id_token: Secret | None = None
    account_id: str | None = None
    email: str | None = None
    plan: str | None = None

    def __post_init__(self) -> None:
        _secret(self.access, "access token")
        if self.refresh is not None:
            _secret(self.refresh, "refresh token")
        _expiry(self.expires_at, "expires_at")


@dataclass(frozen=True)
class TokenMaterial:
    kind: ClassVar[Kind] = Kind.TOKEN
    token: Secret
    expires_at: float | None = None

    def __post_init__(self) -> None:
        _secret(self.token, "token")
        _expiry(self.expires_at, "expires_at")


@dataclass(frozen=True)
class ApiKeyMaterial:
    kind: ClassVar[Kind] = Kind.API_KEY
    key: Secret

    def __post_init__(self) -> None:
        _secret(self.key, "API key")


@dataclass(frozen=True)
class NoMaterial:
    kind: ClassVar[Kind] = Kind.NONE


Material = OAuthMaterial | TokenMaterial | ApiKeyMaterial | NoMaterial
_SECRET_FIELDS = frozenset({"access", "refresh", "id_token", "token", "key"})
_TYPES: dict[Kind, type[Material]] = {
    Kind.OAUTH: OAuthMaterial,
    Kind.TOKEN: TokenMaterial,
    Kind.API_KEY: ApiKeyMaterial,
    Kind.NONE: NoMaterial,
}


def dump_material(material: Material) -> bytes:
    fields: dict[str, Any] = {"kind": material.kind.value}
    for name, value in vars(material).items():
        fields[name] = value.reveal() if isinstance(value, Secret) else value
    return json.dumps(fields, separators=(",", ":")).encode()


def load_material(raw: bytes) -> Material:
    """Rebuild material from decrypted bytes; `MaterialError` if the shape is wrong."""
    try:
        fields = json.loads(raw)
        kind = Kind(fields.pop("kind"))
        values: dict[str, Any] = {
            name: Secret(value) if name in _SECRET_FIELDS and isinstance(value, str) else value
            for name, value in fields.items()
        }
        return _TYPES[kind](**values)
    except MaterialError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise MaterialError("the decrypted material has an unknown shape") from None


@dataclass(frozen=True)
class ProfileStatus:
    """Durable, next to the material: survives restarts until the material changes."""

    state: Literal["ok", "needs_login"] = "ok"
    message: str | None = None  # the provider's words
    since: float | None = None
    fix: str | None = None  # the exact command that repairs it
    last_error: str | None = None  # a failure class
    refreshed_at: float | None = None  # the last refresh this material came from

    @property
    def failing(self) -> bool:
        """Still usable, but the last refresh of its grant failed for a passing reason."""
        return self.state == "ok" and self.last_error is not None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_json(cls, fields: object) -> ProfileStatus:
        if not isinstance(fields, dict) or fields.get("state") not in ("ok", "needs_login"):
            return cls()
        names = ("state", "message", "since", "fix", "last_error", "refreshed_at")
        return cls(**{k: fields[k] for k in names if k in fields})

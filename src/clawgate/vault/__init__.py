"""The encrypted credential store: one AES-256-GCM envelope per profile (docs/auth.md, "Vault"),
and apart from the profiles, one per secret of clawgate's own (`Vault.secret`)."""

from clawgate.vault._cache import ProfileCache
from clawgate.vault._copy import VaultCopy, copy_vault
from clawgate.vault._errors import (
    BadProfileId,
    KeyUnavailable,
    LockTimeout,
    SecretUnreadable,
    Tampered,
    Unresolved,
    UnsafePath,
    VaultError,
)
from clawgate.vault._key import KEY_ENV, DataKey, KeyResolver, Keyring, KeySource, system_keyring
from clawgate.vault._material import (
    ApiKeyMaterial,
    Kind,
    Material,
    MaterialError,
    NoMaterial,
    OAuthMaterial,
    ProfileStatus,
    TokenMaterial,
)
from clawgate.vault._store import PROVIDER_ID, Held, StoredProfile, Vault, check_profile_id

__all__ = [
    "KEY_ENV",
    "PROVIDER_ID",
    "ApiKeyMaterial",
    "BadProfileId",
    "DataKey",
    "Held",
    "KeyResolver",
    "KeySource",
    "KeyUnavailable",
    "Keyring",
    "Kind",
    "LockTimeout",
    "Material",
    "MaterialError",
    "NoMaterial",
    "OAuthMaterial",
    "ProfileCache",
    "ProfileStatus",
    "SecretUnreadable",
    "StoredProfile",
    "Tampered",
    "TokenMaterial",
    "Unresolved",
    "UnsafePath",
    "Vault",
    "VaultCopy",
    "VaultError",
    "check_profile_id",
    "copy_vault",
    "system_keyring",
]

"""The encrypted envelopes of the vault (docs/auth.md, "Vault").

A profile's: ``{"v":1,"profile","provider","generation","alg":"AES-256-GCM","kid","nonce",
"ct"}``; the AAD is ``v|profile|provider|generation``, so an envelope copied onto another
profile's name, or with its generation edited, does not decrypt.

One of clawgate's own secrets: ``{"v":1,"secret","alg","kid","nonce","ct"}``; the AAD is
``secret|v|name``, which no profile's AAD can equal (those begin with the version), so a
profile envelope copied over a secret does not decrypt, nor a secret's under another name.

``kid`` is the data key's public id: a mismatch means "encrypted with another key", not
"tampered".
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clawgate.catalog import repair
from clawgate.vault._errors import SecretUnreadable, Tampered, Unresolved
from clawgate.vault._key import DataKey

VERSION = 1
ALG = "AES-256-GCM"


@dataclass(frozen=True)
class Opened:
    provider: str
    generation: int
    plaintext: bytes


def _aad(profile_id: str, provider: str, generation: int) -> bytes:
    return f"{VERSION}|{profile_id}|{provider}|{generation}".encode()


def _secret_aad(name: str) -> bytes:
    return f"secret|{VERSION}|{name}".encode()


def _seal(key: DataKey, binding: dict[str, Any], aad: bytes, plaintext: bytes) -> bytes:
    """The envelope: ``binding`` in the clear, the plaintext sealed to ``aad``."""
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key.key).encrypt(nonce, plaintext, aad)
    envelope = {
        "v": VERSION,
        **binding,
        "alg": ALG,
        "kid": key.key_id,
        "nonce": base64.b64encode(nonce).decode(),
        "ct": base64.b64encode(ct).decode(),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def _unseal(key: DataKey, fields: dict[str, Any], aad: bytes) -> bytes | None:
    """The plaintext, or None when the envelope does not authenticate under ``aad``."""
    try:
        nonce = base64.b64decode(fields["nonce"], validate=True)
        ct = base64.b64decode(fields["ct"], validate=True)
        return AESGCM(key.key).decrypt(nonce, ct, aad)
    except (binascii.Error, ValueError, InvalidTag):
        return None


def seal(key: DataKey, profile_id: str, provider: str, generation: int, plaintext: bytes) -> bytes:
    binding = {"profile": profile_id, "provider": provider, "generation": generation}
    return _seal(key, binding, _aad(profile_id, provider, generation), plaintext)


def seal_secret(key: DataKey, name: str, plaintext: bytes) -> bytes:
    return _seal(key, {"secret": name}, _secret_aad(name), plaintext)


def peek_generation(raw: bytes) -> int | None:
    """The envelope's generation without decrypting, or None if unreadable."""
    try:
        generation = json.loads(raw).get("generation")
    except (ValueError, AttributeError):
        return None
    return generation if isinstance(generation, int) else None


def open_envelope(key: DataKey, raw: bytes, profile_id: str, high_water: int) -> Opened:
    """Decrypt an envelope stored under ``profile_id``.

    ``high_water`` is the newest generation the vault has recorded for the profile; an
    older envelope is a rollback.
    """
    fields = _parse(raw, profile_id)
    if fields["profile"] != profile_id:
        raise Tampered(
            profile_id,
            f"the envelope belongs to profile {fields['profile']!r} (copied or renamed)",
            fix=f"log in again: {repair(fields['provider'])}",
        )
    if fields["generation"] < high_water:
        raise Tampered(
            profile_id,
            f"the envelope is generation {fields['generation']}, older than generation "
            f"{high_water} already seen (restored from an old copy?)",
            fix=f"log in again: {repair(fields['provider'])}",
        )
    if fields["kid"] != key.key_id:
        raise Unresolved(
            profile_id,
            f"encrypted with another vault key (key id {fields['kid']}, the key in use "
            f"from {key.source} is {key.key_id})",
            fix="use the vault key this profile was written with (CLAWGATE_VAULT_KEY or "
            "vault/key), or log in again",
        )
    aad = _aad(profile_id, fields["provider"], fields["generation"])
    plaintext = _unseal(key, fields, aad)
    if plaintext is None:
        raise Tampered(
            profile_id,
            "the envelope does not decrypt under its profile, provider and generation "
            "(edited or corrupted)",
            fix=f"log in again: {repair(fields['provider'])}",
        )
    return Opened(fields["provider"], fields["generation"], plaintext)


def open_secret(key: DataKey, raw: bytes, name: str) -> bytes:
    """Decrypt the envelope stored as secret ``name``; `SecretUnreadable` says why not."""
    fields = _fields(raw, {"secret": str})
    fix = f"restore vault/secrets/{name}.json from a backup, or make a new one"
    if fields is None:
        raise SecretUnreadable(name, "the file is not a secret's envelope", fix=fix)
    if isinstance(fields, str):
        raise SecretUnreadable(name, fields, fix="upgrade clawgate")
    if fields["secret"] != name:
        raise SecretUnreadable(
            name, f"the envelope belongs to secret {fields['secret']!r} (copied)", fix=fix
        )
    if fields["kid"] != key.key_id:
        raise SecretUnreadable(
            name, f"encrypted with another vault key (key id {fields['kid']})", fix=fix
        )
    plaintext = _unseal(key, fields, _secret_aad(name))
    if plaintext is None:
        raise SecretUnreadable(name, "the envelope does not decrypt (edited or corrupted)", fix=fix)
    return plaintext


_COMMON = {"v": int, "alg": str, "kid": str, "nonce": str, "ct": str}


def _fields(raw: bytes, binding: dict[str, type]) -> dict[str, Any] | str | None:
    """The envelope's fields; None when it is not an envelope of this shape, the reason when
    it is one of a version this code does not read."""
    try:
        fields = json.loads(raw)
    except ValueError:
        return None
    shape = {**_COMMON, **binding}
    if not isinstance(fields, dict) or any(
        not isinstance(fields.get(name), kind) for name, kind in shape.items()
    ):
        return None
    if fields["v"] != VERSION or fields["alg"] != ALG:
        return f"envelope version {fields['v']} / {fields['alg']} is not supported by this clawgate"
    return fields


def _parse(raw: bytes, profile_id: str) -> dict[str, Any]:
    fields = _fields(raw, {"profile": str, "provider": str, "generation": int})
    if fields is None:
        raise Unresolved(
            profile_id,
            "the envelope file is truncated or corrupted (not a vault envelope)",
            fix="log in again for this profile, or restore the file from a backup",
        )
    if isinstance(fields, str):
        raise Unresolved(profile_id, fields, fix="upgrade clawgate")
    return fields

"""The encrypted envelope of one profile (AUTH.md, "Vault").

``{"v":1,"profile","provider","generation","alg":"AES-256-GCM","kid","nonce","ct"}``; the
AAD is ``v|profile|provider|generation``, so an envelope copied onto another profile's name,
or with its generation edited, does not decrypt. ``kid`` is the data key's public id: a
mismatch means "encrypted with another key", not "tampered".
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

from clawgate.vault._errors import Tampered, Unresolved
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


def seal(key: DataKey, profile_id: str, provider: str, generation: int, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key.key).encrypt(nonce, plaintext, _aad(profile_id, provider, generation))
    envelope = {
        "v": VERSION,
        "profile": profile_id,
        "provider": provider,
        "generation": generation,
        "alg": ALG,
        "kid": key.key_id,
        "nonce": base64.b64encode(nonce).decode(),
        "ct": base64.b64encode(ct).decode(),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


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
            fix=f"log in again: clawgate models auth login --provider {fields['provider']}",
        )
    if fields["generation"] < high_water:
        raise Tampered(
            profile_id,
            f"the envelope is generation {fields['generation']}, older than generation "
            f"{high_water} already seen (restored from an old copy?)",
            fix=f"log in again: clawgate models auth login --provider {fields['provider']}",
        )
    if fields["kid"] != key.key_id:
        raise Unresolved(
            profile_id,
            f"encrypted with another vault key (key id {fields['kid']}, the key in use "
            f"from {key.source} is {key.key_id})",
            fix="use the vault key this profile was written with (CLAWGATE_VAULT_KEY or "
            "vault/key), or log in again",
        )
    try:
        nonce = base64.b64decode(fields["nonce"], validate=True)
        ct = base64.b64decode(fields["ct"], validate=True)
        aad = _aad(profile_id, fields["provider"], fields["generation"])
        plaintext = AESGCM(key.key).decrypt(nonce, ct, aad)
    except (binascii.Error, ValueError, InvalidTag):
        raise Tampered(
            profile_id,
            "the envelope does not decrypt under its profile, provider and generation "
            "(edited or corrupted)",
            fix=f"log in again: clawgate models auth login --provider {fields['provider']}",
        ) from None
    return Opened(fields["provider"], fields["generation"], plaintext)


def _parse(raw: bytes, profile_id: str) -> dict[str, Any]:
    try:
        fields = json.loads(raw)
    except ValueError:
        fields = None
    shape = {"v": int, "profile": str, "provider": str, "generation": int, "alg": str}
    shape |= {"kid": str, "nonce": str, "ct": str}
    if not isinstance(fields, dict) or any(
        not isinstance(fields.get(name), kind) for name, kind in shape.items()
    ):
        raise Unresolved(
            profile_id,
            "the envelope file is truncated or corrupted (not a vault envelope)",
            fix="log in again for this profile, or restore the file from a backup",
        )
    if fields["v"] != VERSION or fields["alg"] != ALG:
        raise Unresolved(
            profile_id,
            f"envelope version {fields['v']} / {fields['alg']} is not supported by this clawgate",
            fix="upgrade clawgate",
        )
    return fields

"""Real-shaped OpenClaw and Codex CLI state, written the way those tools write it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEED = "openclaw-seed-for-tests"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(payload).encode())}.{b64url(b'signature')}"


def write_sidecar(
    state_dir: Path,
    ref_id: str,
    profile_id: str,
    provider: str,
    material: dict[str, str],
    seed: str = SEED,
) -> Path:
    """As OpenClaw's writeOAuthProfileSecretMaterial: AES-256-GCM, base64url iv/tag/ct."""
    key = hashlib.sha256(f"openclaw:auth-profile-oauth:{seed}".encode()).digest()
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(
        iv, json.dumps(material).encode(), f"{ref_id}\0{profile_id}\0{provider}".encode()
    )
    payload = {
        "version": 1,
        "profileId": profile_id,
        "provider": provider,
        "encrypted": {
            "algorithm": "aes-256-gcm",
            "iv": b64url(iv),
            "tag": b64url(sealed[-16:]),
            "ciphertext": b64url(sealed[:-16]),
        },
    }
    path = state_dir / "credentials" / "auth-profiles" / f"{ref_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))
    return path


def write_store(state_dir: Path, agent: str, store: object) -> Path:
    path = state_dir / "agents" / agent / "agent" / "auth-profiles.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(store if isinstance(store, str) else json.dumps(store, indent=2))
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

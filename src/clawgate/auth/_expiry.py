"""When a stored credential stops working, from the material alone (no broker, no network)."""

from __future__ import annotations

from clawgate.auth._jwt import expiry
from clawgate.vault import Material, OAuthMaterial, TokenMaterial

__all__ = ["material_expiry"]


def material_expiry(material: Material) -> float | None:
    """When the credential stops working; a JWT's own ``exp`` wins (step 1)."""
    if isinstance(material, OAuthMaterial):
        return expiry(material.access.reveal()) or material.expires_at
    if isinstance(material, TokenMaterial):
        return expiry(material.token.reveal()) or material.expires_at
    return None

"""Anthropic: a setup token (``claude setup-token``) pasted in; it has no OAuth login of its
own that a third party may drive, and no device flow."""

from __future__ import annotations

from clawgate.auth._profiles import ProfileInputError
from clawgate.auth.logins._spec import LoginSpec, Method
from clawgate.auth.oauth import LoginTools
from clawgate.catalog import facts
from clawgate.config import ProviderSettings
from clawgate.secret import Secret, mask
from clawgate.vault import Material, TokenMaterial

FACTS = facts("anthropic")
assert FACTS.token_shape is not None
PREFIX, WHAT = FACTS.token_shape.prefix, FACTS.token_shape.what


async def paste_setup_token(
    tools: LoginTools, settings: ProviderSettings, method: Method
) -> Material:
    text = ((await tools.ui.secret(f"Paste {WHAT}")) or "").strip()
    if not text.startswith(PREFIX) or any(c.isspace() for c in text):
        raise ProfileInputError(
            f"that is not {WHAT}: it should start with {PREFIX}"
            + (f" (got one ending {mask(text)})" if text else ""),
            fix="run `claude setup-token`, then paste the whole token",
        )
    return TokenMaterial(Secret(text))


ANTHROPIC = LoginSpec(FACTS, token_login=paste_setup_token)

"""`models auth logout --revoke`: ask the issuer to revoke the login (RFC 7009), then delete
it locally. A failed revocation is reported, and the login is kept unless ``--force``."""

from __future__ import annotations

import asyncio

import httpx
from rich.markup import escape

from clawgate import auth
from clawgate.cli._app import App
from clawgate.clock import SystemClock

__all__ = ["revoke_first"]


def revoke_first(app: App, profile: str, force: bool) -> None:
    """Revoke ``profile`` at its issuer; `auth.RevokeFailed` (nothing deleted) when that fails
    and ``force`` is not set."""
    settings = app.config.settings

    async def run() -> list[str]:
        async with httpx.AsyncClient(timeout=30) as http:
            return await auth.revoke_login(app.vault, settings, profile, http, SystemClock())

    try:
        done = asyncio.run(run())
    except auth.RevokeFailed as exc:
        if not force:
            raise auth.RevokeFailed(
                f"{exc.message}; the login is still stored here",
                fix=f"retry later, or delete it here anyway: clawgate models auth logout "
                f"{profile} --revoke --force",
            ) from None
        app.err.print(f"[yellow]not revoked:[/] {escape(exc.message)} (deleting it here anyway)")
        return
    app.out.print(f"revoked at the issuer: {', '.join(t.replace('_', ' ') for t in done)}")

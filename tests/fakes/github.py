"""A fake of GitHub's device login and of the Copilot token endpoint, with their documented
shapes: the token endpoint answers refusals such as ``authorization_pending`` with status 200,
and the Copilot token comes with ``expires_at`` and the API host to call."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "Iv1.b507a08c87ecfe98"


class FakeGitHub:
    def __init__(self, now: float) -> None:
        self.now = now
        self.approved = False
        self.revoked = False
        self.github_token = "gho_" + secrets.token_urlsafe(20)
        self.copilot_tokens = 0
        self.app = Starlette(
            routes=[
                Route("/login/device/code", self.device_code, methods=["POST"]),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
                Route("/copilot_internal/v2/token", self.copilot_token),
            ]
        )

    async def _form(self, request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}

    async def device_code(self, request: Request) -> Response:
        form = await self._form(request)
        assert form["client_id"] == CLIENT_ID
        assert form["scope"] == "read:user"
        return JSONResponse(
            {
                "device_code": "dc_" + secrets.token_urlsafe(8),
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://github.com/login/device",
                "expires_in": 899,
                "interval": 5,
            }
        )

    async def access_token(self, request: Request) -> Response:
        form = await self._form(request)
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
        if not self.approved:
            return JSONResponse(
                {
                    "error": "authorization_pending",
                    "error_description": "The authorization request is still pending.",
                }
            )
        return JSONResponse(
            {"access_token": self.github_token, "token_type": "bearer", "scope": "read:user"}
        )

    async def copilot_token(self, request: Request) -> Response:
        if self.revoked or request.headers.get("authorization") != f"token {self.github_token}":
            return JSONResponse(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                401,
            )
        self.copilot_tokens += 1
        return JSONResponse(
            {
                "token": f"tid=1;exp={int(self.now) + 1800};sku=x;n={self.copilot_tokens}",
                "expires_at": int(self.now) + 1800,
                "refresh_in": 1500,
                "endpoints": {"api": "https://api.individual.githubcopilot.com"},
            }
        )

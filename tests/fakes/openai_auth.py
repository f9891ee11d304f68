"""A fake of auth.openai.com (and of the one chatgpt.com endpoint a turn calls), as far as
clawgate's logins and refreshes use them: the documented paths, form and JSON bodies, token
shapes (JWTs with OpenAI's claims) and error bodies. Tests script refusals per request.

Error bodies reproduced (status, body):
- refresh refused: 401 {"error": {"message", "type": "invalid_request_error", "param": null,
  "code": "refresh_token_reused" | "refresh_token_expired" | "refresh_token_invalidated"}}
- RFC 6749 shape: 400 {"error": "invalid_grant", "error_description": ...}
- model endpoint, stale access token: 401 {"error": {"message", "type": null,
  "code": "token_expired", "param": null}, "status": 401}
- usage limit: 429 {"error": {"type": "usage_limit_reached", "message", "plan_type",
  "resets_at", "resets_in_seconds"}}; plan: 429 {"error": {"type": "usage_not_included", …}}
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(payload: dict[str, Any]) -> str:
    """A JWT of the right shape; nobody here checks the signature."""
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(payload)}.{secrets.token_urlsafe(16)}"


def refused(code: str, message: str, status: int = 401) -> Reply:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }
    return Reply(status, body)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    text: str | None = None

    def response(self) -> Response:
        if self.text is not None:
            return Response(self.text, self.status, self.headers, media_type="text/html")
        return JSONResponse(self.body, self.status, self.headers)


# The documented refusals, by name, for parametrized tests.
REFUSALS: dict[str, Reply] = {
    "refresh_token_reused": refused(
        "refresh_token_reused",
        "Your refresh token has already been used to generate a new access token. "
        "Please try signing in again.",
    ),
    "refresh_token_expired": refused(
        "refresh_token_expired", "Your refresh token has expired. Please try signing in again."
    ),
    "refresh_token_invalidated": refused(
        "refresh_token_invalidated",
        "Your refresh token has been invalidated. Please try signing in again.",
    ),
    "token_expired": Reply(
        401,
        {
            "error": {
                "message": "Provided authentication token is expired. Please try signing in again.",
                "type": None,
                "code": "token_expired",
                "param": None,
            },
            "status": 401,
        },
    ),
    "invalid_grant": Reply(
        400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    ),
    "500": Reply(
        500,
        {
            "error": {
                "message": "The server had an error",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        },
    ),
    "502": Reply(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "503": Reply(503, text="upstream connect error", headers={"retry-after": "7"}),
    "429-retry-after": Reply(
        429,
        {
            "error": {
                "message": "Rate limit reached",
                "type": "rate_limit_exceeded",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
        headers={"retry-after": "30"},
    ),
    "429-bare": Reply(
        429,
        {
            "error": {
                "message": "Too many requests",
                "type": "requests",
                "param": None,
                "code": None,
            }
        },
    ),
    "usage_limit_reached": Reply(
        429,
        {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_at": 1_900_007_200,
                "resets_in_seconds": 7200,
            }
        },
    ),
    "usage_not_included": Reply(
        429,
        {
            "error": {
                "type": "usage_not_included",
                "message": "Your plan does not include Codex",
                "plan_type": "free",
            }
        },
    ),
}


class FakeOpenAIAuth:
    def __init__(
        self,
        *,
        email: str = "me@example.com",
        account: str = "acct-1",
        plan: str = "plus",
        access_ttl: float = 10 * 86400,
        now: float = 1.9e9,
    ) -> None:
        self.email, self.account, self.plan = email, account, plan
        self.access_ttl = access_ttl
        self.now = now  # the issuer's clock, for `exp`; tests move it with their own
        self.token_replies: deque[Reply] = deque()  # scripted answers of /oauth/token
        self.model_replies: deque[Reply] = deque()  # scripted answers of the model endpoint
        self.refresh_calls = 0
        self.refresh_token: str | None = None
        self.used_refresh: set[str] = set()
        self.access: set[str] = set()
        self.codes: dict[str, tuple[str, str]] = {}  # code → (challenge, redirect_uri)
        self.devices: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers)
        self.app = Starlette(
            routes=[
                Route("/oauth/authorize", self.authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/api/accounts/deviceauth/usercode", self.usercode, methods=["POST"]),
                Route("/api/accounts/deviceauth/token", self.device_token, methods=["POST"]),
                Route("/backend-api/codex/responses", self.responses, methods=["POST"]),
            ]
        )

    # Tokens ---------------------------------------------------------------------------------

    def claims(self) -> dict[str, Any]:
        return {
            AUTH_CLAIM: {"chatgpt_account_id": self.account, "chatgpt_plan_type": self.plan},
            PROFILE_CLAIM: {"email": self.email},
        }

    def issue(self) -> dict[str, Any]:
        access = jwt(
            {"exp": int(self.now + self.access_ttl), "iat": int(self.now), **self.claims()}
        )
        self.access.add(access)
        self.refresh_token = "rt_" + secrets.token_urlsafe(24)
        id_token = jwt({"email": self.email, "exp": int(self.now + 3600), **self.claims()})
        return {
            "access_token": access,
            "refresh_token": self.refresh_token,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl),
        }

    # Routes ---------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID
        assert q["code_challenge_method"] == "S256"
        assert q["codex_cli_simplified_flow"] == "true"
        code = secrets.token_urlsafe(16)
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        query = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        # application/x-www-form-urlencoded, read by hand (no multipart parser needed).
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.requests.append(("/oauth/token", dict(request.headers)))
        if form.get("grant_type") == "refresh_token":
            self.refresh_calls += 1
        if self.token_replies:
            reply = self.token_replies.popleft()
            await asyncio.sleep(reply.delay)
            return reply.response()
        if form.get("client_id") != CLIENT_ID:
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") == "authorization_code":
            return self._exchange(form)
        if form.get("grant_type") == "refresh_token":
            token = form.get("refresh_token")
            if token == self.refresh_token:
                self.used_refresh.add(token)
                return JSONResponse(self.issue())
            if token in self.used_refresh:
                self.refresh_token = None  # reuse revokes the login
                return REFUSALS["refresh_token_reused"].response()
            return REFUSALS["refresh_token_invalidated"].response()
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    def _exchange(self, form: dict[str, Any]) -> Response:
        found = self.codes.pop(str(form.get("code")), None)
        if found is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        challenge, redirect_uri = found
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        if form.get("redirect_uri") != redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect"}, 400)
        return JSONResponse(self.issue())

    async def usercode(self, request: Request) -> Response:
        body = await request.json()
        assert body == {"client_id": CLIENT_ID}
        device_id = "dev_" + secrets.token_urlsafe(8)
        self.devices[device_id] = {"user_code": "ABCD-1234", "approved": False}
        return JSONResponse(
            {"device_auth_id": device_id, "user_code": "ABCD-1234", "interval": "5"}
        )

    def approve(self) -> None:
        for device in self.devices.values():
            device["approved"] = True

    async def device_token(self, request: Request) -> Response:
        body = await request.json()
        device = self.devices.get(body.get("device_auth_id"))
        if device is None or device["user_code"] != body.get("user_code"):
            return JSONResponse({"error": "not found"}, 404)
        if not device["approved"]:
            return JSONResponse({"error": {"message": "pending"}}, 403)
        verifier = secrets.token_urlsafe(32)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        code = secrets.token_urlsafe(16)
        self.codes[code] = (challenge, f"{request.base_url}deviceauth/callback")
        return JSONResponse(
            {"authorization_code": code, "code_verifier": verifier, "code_challenge": challenge}
        )

    async def responses(self, request: Request) -> Response:
        self.requests.append(("/backend-api/codex/responses", dict(request.headers)))
        if self.model_replies:
            return self.model_replies.popleft().response()
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.access:
            return REFUSALS["token_expired"].response()
        return JSONResponse(
            {
                "id": "resp_1",
                "status": "completed",
                "output": [{"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
            }
        )

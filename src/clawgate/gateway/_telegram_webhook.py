"""``POST /channels/telegram/webhook``: where Telegram pushes updates in webhook mode.

Telegram cannot send the gateway's bearer token, so this path is open in `_guard`; it is
authenticated instead by the secret token given to setWebhook, which Telegram sends back in
``X-Telegram-Bot-Api-Secret-Token`` (Bot API, "setWebhook"), compared in constant time. The
update is stored and the answer is 200 at once: the turn runs on, and Telegram does not
retry what it was told it delivered.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clawgate.gateway._body import parse_json
from clawgate.gateway._openai import RequestError
from clawgate.gateway._state import Gateway

__all__ = ["PATH", "ROUTES"]

PATH = "/channels/telegram/webhook"
MAX_UPDATE = 1 << 20  # bytes; an update is a few kilobytes


async def webhook(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    await gateway.refresh()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPDATE:
            return Response(status_code=413)
    try:
        data = parse_json(bytes(body))  # the bounds every body has (`_body`)
    except RequestError:
        return Response(status_code=400)
    secret = request.headers.get("x-telegram-bot-api-secret-token")
    return Response(status_code=gateway.telegram.webhook(secret, data))


ROUTES = [Route(PATH, webhook, methods=["POST"])]

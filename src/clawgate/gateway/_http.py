"""What every route shares: the bounded JSON body (`_body`), OpenAI-shaped error responses,
and the facts of who answered a turn (headers and body).

Header values are made safe whatever they hold: RFC 9110, 5.5 allows visible ASCII and
spaces in a field value, and a CR, LF or NUL would end the message or be refused by the
server (a dropped connection). Anything else, and ``%`` itself, is percent-encoded as UTF-8
(RFC 3986, 2.1), and a value is cut at `MAX_HEADER` characters; the body has it whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from starlette.responses import JSONResponse, Response

from clawgate.config import MAX_BODY_BYTES, Settings
from clawgate.gateway._body import read_json
from clawgate.gateway._keys import check_scope
from clawgate.gateway._openai import DEFAULT_MODELS, RequestError, error_body, status_for
from clawgate.gateway._state import Gateway
from clawgate.routing import RoutingError, requested_ref
from clawgate.runtime import Answering, TurnFailed, TurnResult

__all__ = [
    "MAX_BODY",
    "MAX_CHAIN",
    "answer_facts",
    "answer_headers",
    "check_models",
    "check_refs",
    "error_response",
    "failed_response",
    "header_value",
    "read_json",
]

MAX_BODY = MAX_BODY_BYTES  # bytes of a request body, unless gateway.maxBodyBytes says
MAX_CHAIN = 32  # refs in a request's explicit ``models`` chain (OpenRouter takes a handful)
MAX_HEADER = 1_024  # characters of a header value taken from a request or a turn
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_value(value: str) -> str:
    """``value`` as a header can carry it (see above)."""
    if len(value) > MAX_HEADER:
        value = value[: MAX_HEADER - 1] + "…"
    return quote(value, safe=_HEADER_SAFE, errors="surrogatepass")


async def check_models(gateway: Gateway, model: str | None, models: Sequence[str] = ()) -> None:
    """`check_refs` on the newest config."""
    await gateway.refresh()
    check_refs(gateway.config.settings, model, models)


def check_refs(settings: Settings, model: str | None, models: Sequence[str] = ()) -> None:
    """The models a request names (``model``: None or "clawgate" for the default chain; or
    an explicit ``models`` chain) must be refs of providers here (`routing.requested_ref`):
    else `RequestError` (``model_not_found``, a 400: the caller's mistake, which a client
    must not retry) naming the field."""
    if len(models) > MAX_CHAIN:
        raise RequestError(
            f"models has {len(models)} entries; a chain has at most {MAX_CHAIN}", param="models"
        )
    for index, ref in enumerate(models):
        _check_model(settings, ref, f"models.{index}")
    if model is not None and model not in DEFAULT_MODELS:
        _check_model(settings, model, "model")
    check_scope(settings, model, models)  # a client key's --models: a 403 (`_guard`)


def _check_model(settings: Settings, ref: str, param: str) -> None:
    try:
        requested_ref(ref, settings)
    except RoutingError as exc:
        message = exc.message if not exc.fix else f"{exc.message} (fix: {exc.fix})"
        raise RequestError(message, param=param, code="model_not_found") from None


def error_response(
    status: int, message: str, *, code: str | None, param: str | None = None, **headers: str
) -> JSONResponse:
    type_ = "invalid_request_error" if status < 500 else "api_error"
    if status == 401:
        type_ = "authentication_error"
    body = error_body(message, code=code, type_=type_, param=param)
    return JSONResponse(body, status, headers=headers)


def failed_response(exc: TurnFailed) -> Response:
    message = exc.message if not exc.fix else f"{exc.message} (fix: {exc.fix})"
    return error_response(
        status_for(exc.failure.kind),
        message,
        code=exc.code,
        **{"x-clawgate-turn": header_value(exc.turn_id)},
    )


def answer_headers(who: Answering | TurnResult) -> dict[str, str]:
    """Who answered, as headers; and which request options that model's wire left out."""
    headers = {
        "x-clawgate-turn": header_value(who.turn_id),
        "x-clawgate-model": header_value(who.model),
        "x-clawgate-profile": header_value(who.profile),
        "x-clawgate-fallback": "true" if who.fallback else "false",
    }
    if who.dropped:
        headers["x-clawgate-dropped-params"] = header_value(", ".join(who.dropped))
    return headers


def answer_facts(who: Answering | TurnResult) -> dict[str, Any]:
    """The same, for the ``clawgate`` object of the body."""
    facts: dict[str, Any] = {
        "turn": who.turn_id,
        "model": who.model,
        "profile": who.profile,
        "fallback": who.fallback,
    }
    if who.dropped:
        facts["dropped"] = list(who.dropped)
    if isinstance(who, TurnResult) and who.resumed_at is not None:
        # The stream broke and this candidate continued it (docs/routing.md).
        facts["resumed"] = {"at": who.resumed_at, "model": who.model, "profile": who.profile}
    return facts

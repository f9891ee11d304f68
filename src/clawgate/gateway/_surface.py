"""An error answered before any route read the request (no such route, a method it does not
take, clawgate's own failure), in the shape of the surface the path belongs to: Anthropic's
error object on the Messages API's paths (https://docs.anthropic.com/en/api/errors),
OpenAI's everywhere else."""

from __future__ import annotations

from starlette.responses import JSONResponse

from clawgate.gateway import _anthropic_shapes as anthropic
from clawgate.gateway._http import error_response

__all__ = ["surface_error"]

# Anthropic's error type for each status these errors have.
_ANTHROPIC_TYPE = {
    404: "not_found_error",
    405: "invalid_request_error",
    500: "api_error",
}


def surface_error(
    path: str, status: int, message: str, *, code: str | None, **headers: str
) -> JSONResponse:
    if path.startswith(anthropic.PATH_PREFIX):
        type_ = _ANTHROPIC_TYPE.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return anthropic.error_response(type_, message, status=status, **headers)
    return error_response(status, message, code=code, **headers)

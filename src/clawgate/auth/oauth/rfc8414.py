"""Finding an issuer's endpoints: OpenID Connect Discovery 1.0 §4, then RFC 8414 §3."""

from __future__ import annotations

import httpx

from clawgate.auth.oauth._errors import OAuthError
from clawgate.failures import Failure, FailureClass

_WELL_KNOWN = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")


async def discover(http: httpx.AsyncClient, issuer: str) -> dict[str, object]:
    issuer = issuer.rstrip("/")
    problems: list[str] = []
    for suffix in _WELL_KNOWN:
        url = issuer + suffix
        try:
            response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise OAuthError(
                Failure(
                    FailureClass.NETWORK,
                    f"the issuer {issuer} could not be reached ({type(exc).__name__})",
                    fix="check the network, or models.providers.<id>.oauth.issuer in the config",
                )
            ) from None
        if response.status_code == 404:
            problems.append(f"{suffix}: 404")
            continue
        try:
            metadata = response.json() if response.is_success else None
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            problems.append(f"{suffix}: HTTP {response.status_code}, not issuer metadata")
            continue
        # §3.3: the metadata must name the issuer it was fetched for.
        if str(metadata.get("issuer", "")).rstrip("/") != issuer:
            raise OAuthError(
                Failure(
                    FailureClass.BAD_REQUEST,
                    f"{url} describes issuer {metadata.get('issuer')!r}, not {issuer}",
                    fix="set models.providers.<id>.oauth.issuer to the issuer's exact URL",
                )
            )
        return metadata
    raise OAuthError(
        Failure(
            FailureClass.BAD_REQUEST,
            f"no issuer metadata at {issuer} ({'; '.join(problems)})",
            fix="set the endpoints in models.providers.<id>.oauth, or check the issuer URL",
        )
    )

"""OAuth 2.0 for a native client: each standard in the module named after its RFC, and the
two interactive logins built from them (docs/auth.md, "OAuth flows")."""

from clawgate.auth.oauth._classify import DEAD_GRANT, classify_exception, classify_refusal
from clawgate.auth.oauth._errors import OAuthError, TokenError
from clawgate.auth.oauth._flows import (
    LoginTools,
    LoginUI,
    Redirect,
    browser_login,
    device_login,
    first_of,
)
from clawgate.auth.oauth._paste import code_from_paste
from clawgate.auth.oauth.rfc6749 import (
    Callback,
    OAuthClient,
    TokenSet,
    authorization_url,
    exchange_code,
    get_json,
    parse_token_response,
    post_form,
    post_json,
    refresh,
    token_request,
)
from clawgate.auth.oauth.rfc7009 import revoke
from clawgate.auth.oauth.rfc7636 import Pkce, s256
from clawgate.auth.oauth.rfc8252 import LoopbackListener
from clawgate.auth.oauth.rfc8414 import discover
from clawgate.auth.oauth.rfc8628 import (
    DeviceAuthorization,
    Pending,
    Sleep,
    SlowDown,
    poll,
    poll_token,
)

__all__ = [
    "DEAD_GRANT",
    "Callback",
    "DeviceAuthorization",
    "LoginTools",
    "LoginUI",
    "LoopbackListener",
    "OAuthClient",
    "OAuthError",
    "Pending",
    "Pkce",
    "Redirect",
    "Sleep",
    "SlowDown",
    "TokenError",
    "TokenSet",
    "authorization_url",
    "browser_login",
    "classify_exception",
    "classify_refusal",
    "code_from_paste",
    "device_login",
    "discover",
    "exchange_code",
    "first_of",
    "get_json",
    "parse_token_response",
    "poll",
    "poll_token",
    "post_form",
    "post_json",
    "refresh",
    "revoke",
    "s256",
    "token_request",
]

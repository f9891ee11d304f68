"""The token endpoint helpers of RFC 6749 against a token endpoint played by
`httpx.MockTransport`: what each grant sends (§4.1.3, §6), how a §5.1 answer is read, and
how every kind of refusal (§5.2 bodies, 5xx, 429, garbage) becomes a classified
`TokenError`. Also the authorization request (§4.1.1) and the callback checks (§4.1.2)."""

from __future__ import annotations

import email.utils
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clawgate.auth.oauth import (
    Callback,
    OAuthClient,
    OAuthError,
    Pkce,
    TokenError,
    TokenSet,
    authorization_url,
    exchange_code,
    get_json,
    parse_token_response,
    post_json,
    refresh,
    token_request,
)
from clawgate.secret import Secret

pytestmark = pytest.mark.anyio

NOW = 1_900_000_000.0
ENDPOINT = "https://issuer.test/oauth/token"
CLIENT = OAuthClient(client_id="cli-4821", token_endpoint=ENDPOINT)
REFRESH = Secret("rt-refresh-token-value-9f2c")
# An id_token only has to look like a JWT here (three parts); nothing reads its claims.
ID_TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtZSJ9.c2ln"

Answer = httpx.Response | Exception


class TokenEndpoint:
    """Answers each request with the next scripted response (or raises the scripted
    transport error) and records what it was sent."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[httpx.Request] = []

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def form(self, index: int = -1) -> dict[str, str]:
        request = self.requests[index]
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def endpoint() -> TokenEndpoint:
    return TokenEndpoint()


@pytest.fixture
async def http(endpoint: TokenEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        yield client


def ok(document: object) -> httpx.Response:
    return httpx.Response(200, json=document)


def refused(status: int, document: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=document, headers=headers)


async def refreshed(http: httpx.AsyncClient) -> TokenSet:
    return await refresh(http, CLIENT, REFRESH, now=NOW)


async def refusal(http: httpx.AsyncClient) -> TokenError:
    with pytest.raises(TokenError) as caught:
        await refreshed(http)
    return caught.value


# -- what the grants send ---------------------------------------------------------------------


async def test_refresh_posts_the_refresh_grant_as_a_form_with_the_client_id(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"access_token": "at-1", "token_type": "Bearer"}))
    await refreshed(http)
    (request,) = endpoint.requests
    assert (request.method, str(request.url)) == ("POST", ENDPOINT)
    assert request.headers["accept"] == "application/json"
    assert endpoint.form() == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH.reveal(),
        "client_id": CLIENT.client_id,
    }


async def test_exchange_code_sends_the_code_redirect_uri_and_pkce_verifier(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"access_token": "at-1", "token_type": "Bearer", "id_token": ID_TOKEN}))
    verifier = Secret("v" * 64)
    tokens = await exchange_code(
        http,
        CLIENT,
        code="code-abc",
        redirect_uri="http://127.0.0.1:1455/auth/callback",
        verifier=verifier,
        now=NOW,
    )
    assert endpoint.form() == {
        "grant_type": "authorization_code",
        "code": "code-abc",
        "redirect_uri": "http://127.0.0.1:1455/auth/callback",
        "code_verifier": verifier.reveal(),
        "client_id": CLIENT.client_id,
    }
    assert tokens.id_token == Secret(ID_TOKEN)


async def test_the_client_id_of_the_client_wins_over_one_in_the_form(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"access_token": "at-1"}))
    await token_request(http, CLIENT, {"grant_type": "x", "client_id": "spoofed"}, now=NOW)
    assert endpoint.form()["client_id"] == CLIENT.client_id


async def test_post_json_and_get_json_send_json_and_the_callers_headers(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"device_code": "dc"}), ok({"token": "t"}))
    assert await post_json(http, ENDPOINT, {"client_id": "c"}, now=NOW) == {"device_code": "dc"}
    posted = endpoint.requests[0]
    assert posted.headers["content-type"] == "application/json"
    assert json.loads(posted.content) == {"client_id": "c"}

    answer = await get_json(
        http, "https://api.test/token", headers={"Authorization": "token gho_x"}, now=NOW
    )
    assert answer == {"token": "t"}
    fetched = endpoint.requests[1]
    assert fetched.method == "GET"
    assert fetched.headers["authorization"] == "token gho_x"
    assert fetched.headers["accept"] == "application/json"


# -- §5.1: a successful answer ------------------------------------------------------------------


async def test_a_full_success_answer_is_read_into_a_token_set(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(
        ok(
            {
                "access_token": "at-new",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": "rt-rotated",
                "id_token": ID_TOKEN,
                "scope": "openid offline_access",
            }
        )
    )
    tokens = await refreshed(http)
    assert tokens.access_token == Secret("at-new")
    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == 3600.0
    assert isinstance(tokens.expires_in, float)
    assert tokens.refresh_token == Secret("rt-rotated")
    assert tokens.id_token == Secret(ID_TOKEN)
    assert tokens.scope == "openid offline_access"
    assert tokens.extra == {}


async def test_an_answer_without_a_new_refresh_token_leaves_it_out(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"access_token": "at-new", "token_type": "bearer"}))
    tokens = await refreshed(http)
    assert tokens.refresh_token is None
    assert tokens.id_token is None
    assert tokens.expires_in is None
    assert tokens.token_type == "bearer"  # case-insensitive, kept as sent


def test_the_token_type_defaults_to_bearer_and_dpop_is_accepted() -> None:
    assert parse_token_response({"access_token": "a"}, endpoint=ENDPOINT).token_type == "Bearer"
    dpop = parse_token_response({"access_token": "a", "token_type": "DPoP"}, endpoint=ENDPOINT)
    assert dpop.token_type == "DPoP"


def test_vendor_fields_are_kept_but_never_anything_named_like_a_token() -> None:
    tokens = parse_token_response(
        {
            "access_token": "a",
            "account_id": "acct_1",
            "expires_at": 1_900_003_600,
            "session_token": "must-not-be-kept-in-the-clear",
            "scope": ["not", "a", "string"],
        },
        endpoint=ENDPOINT,
    )
    assert tokens.extra == {"account_id": "acct_1", "expires_at": 1_900_003_600}
    assert tokens.scope is None


def test_secrets_in_the_token_set_do_not_show_in_its_repr() -> None:
    tokens = parse_token_response(
        {"access_token": "at-0123456789abcdef", "refresh_token": "rt-0123456789abcdef"},
        endpoint=ENDPOINT,
    )
    assert "0123456789ab" not in repr(tokens)
    assert tokens.access_token.reveal() == "at-0123456789abcdef"


@pytest.mark.parametrize(
    ("document", "what"),
    [
        ({"token_type": "Bearer", "expires_in": 3600}, "access_token is missing or empty"),
        ({"access_token": ""}, "access_token is missing or empty"),
        ({"access_token": "   "}, "access_token is missing or empty"),
        ({"access_token": 42}, "access_token is missing or empty"),
        ({"access_token": "a", "token_type": "mac"}, "token_type is not Bearer"),
        ({"access_token": "a", "token_type": None}, "token_type is not Bearer"),
        ({"access_token": "a", "expires_in": 0}, "expires_in is not a positive number"),
        ({"access_token": "a", "expires_in": -60}, "expires_in is not a positive number"),
        ({"access_token": "a", "expires_in": "3600"}, "expires_in is not a positive number"),
        ({"access_token": "a", "expires_in": True}, "expires_in is not a positive number"),
        ({"access_token": "a", "expires_in": float("inf")}, "expires_in is not a positive"),
        ({"access_token": "a", "refresh_token": ""}, "refresh_token is not a non-empty string"),
        ({"access_token": "a", "refresh_token": 7}, "refresh_token is not a non-empty string"),
        ({"access_token": "a", "id_token": "opaque"}, "id_token is not a JWT"),
        (["access_token", "a"], "not a JSON object"),
    ],
)
def test_a_malformed_success_answer_is_a_server_error_and_nothing_is_kept(
    document: object, what: str
) -> None:
    with pytest.raises(TokenError) as caught:
        parse_token_response(document, endpoint=ENDPOINT)
    assert caught.value.code == "server_error"
    assert what in caught.value.message
    assert ENDPOINT in caught.value.message


async def test_a_200_without_an_access_token_is_a_server_error(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-x"}))
    error = await refusal(http)
    assert error.code == "server_error"
    assert "access_token is missing" in error.message


async def test_a_200_that_is_not_json_is_a_server_error(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(httpx.Response(200, text="<html>login</html>"))
    error = await refusal(http)
    assert error.code == "server_error"
    assert "not JSON" in error.message


# -- §5.2 and the rest: refusals ----------------------------------------------------------------


async def test_invalid_grant_is_auth_dead_with_the_issuers_words(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(
        refused(400, {"error": "invalid_grant", "error_description": "Refresh token revoked"})
    )
    error = await refusal(http)
    assert error.code == "auth_dead"
    assert error.failure.code == "invalid_grant"
    assert error.failure.status == 400
    assert "Refresh token revoked" in error.message
    assert ENDPOINT in error.message
    assert REFRESH.reveal() not in str(error)
    assert error.reuse_suspected is True


@pytest.mark.parametrize(
    ("status", "document", "expected", "code"),
    [
        (400, {"error": "invalid_client"}, "bad_request", "invalid_client"),
        (401, {"error": "unauthorized_client"}, "bad_request", "unauthorized_client"),
        (400, {"error": "unsupported_grant_type"}, "bad_request", "unsupported_grant_type"),
        (400, {"error": "invalid_scope"}, "bad_request", "invalid_scope"),
        (400, {"error": "invalid_request"}, "bad_request", "invalid_request"),
        (503, {"error": "temporarily_unavailable"}, "server_error", "temporarily_unavailable"),
        (500, {"error": "server_error"}, "server_error", "server_error"),
        # OpenAI's own shape: the code inside an error object.
        (401, {"error": {"code": "refresh_token_reused"}}, "auth_dead", "refresh_token_reused"),
        (401, {"error": {"code": "refresh_token_expired"}}, "auth_dead", "refresh_token_expired"),
        (429, {"error": {"type": "usage_limit_reached"}}, "quota", "usage_limit_reached"),
        (403, {"error": {"code": "usage_not_included"}}, "entitlement", "usage_not_included"),
    ],
)
async def test_the_error_code_decides_the_class(
    http: httpx.AsyncClient,
    endpoint: TokenEndpoint,
    status: int,
    document: dict[str, Any],
    expected: str,
    code: str,
) -> None:
    endpoint.answer(refused(status, document))
    error = await refusal(http)
    assert error.code == expected
    assert error.failure.code == code
    assert error.failure.status == status


async def test_a_known_code_wins_over_the_status(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    # By status alone a 401 would be auth_dead; the issuer says it is only overloaded.
    endpoint.answer(refused(401, {"error": "temporarily_unavailable"}))
    assert (await refusal(http)).code == "server_error"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "auth_dead"),
        (401, "auth_dead"),
        (403, "auth_dead"),
        (404, "bad_request"),
        (408, "timeout"),
        (429, "rate_limit"),
        (500, "server_error"),
        (502, "server_error"),
        (503, "server_error"),
    ],
)
async def test_without_a_known_code_the_status_decides(
    http: httpx.AsyncClient, endpoint: TokenEndpoint, status: int, expected: str
) -> None:
    endpoint.answer(httpx.Response(status, text="<html><h1>Something went wrong</h1></html>"))
    error = await refusal(http)
    assert error.code == expected
    assert error.failure.status == status
    assert error.failure.code is None
    assert f"HTTP {status}" in error.message


async def test_an_unknown_code_is_kept_but_the_status_decides(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(refused(502, {"error": "gateway_sad", "error_description": "upstream down"}))
    error = await refusal(http)
    assert error.code == "server_error"
    assert error.failure.code == "gateway_sad"
    assert "upstream down" in error.message
    assert error.reuse_suspected is False


async def test_a_429_keeps_retry_after_in_seconds(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(refused(429, {"error": "slow_down"}, **{"Retry-After": "30"}))
    error = await refusal(http)
    assert error.code == "rate_limit"
    assert error.failure.retry_after == 30.0


async def test_retry_after_as_an_http_date_counts_from_the_given_now(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    when = email.utils.format_datetime(datetime.fromtimestamp(NOW + 120, tz=UTC), usegmt=True)
    endpoint.answer(httpx.Response(429, text="busy", headers={"Retry-After": when}))
    error = await refusal(http)
    assert error.code == "rate_limit"
    assert error.failure.retry_after == pytest.approx(120.0)


async def test_a_usage_limit_reset_counts_from_the_given_now(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    body = {"error": {"type": "usage_limit_reached", "resets_in_seconds": 600}}
    endpoint.answer(refused(429, body))
    error = await refusal(http)
    assert error.code == "quota"
    assert error.failure.resets_at == NOW + 600


async def test_a_refusal_sent_with_status_200_is_still_a_refusal(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    # GitHub answers its token endpoint's refusals with 200.
    endpoint.answer(ok({"error": "slow_down", "error_description": "Too many requests"}))
    error = await refusal(http)
    assert error.code == "rate_limit"
    assert (error.failure.code, error.failure.status) == ("slow_down", 200)


async def test_an_answer_with_both_error_and_access_token_counts_as_tokens(
    http: httpx.AsyncClient, endpoint: TokenEndpoint
) -> None:
    endpoint.answer(ok({"access_token": "at-1", "error": "ignored"}))
    assert (await refreshed(http)).access_token == Secret("at-1")


@pytest.mark.parametrize(
    ("exc", "expected", "words"),
    [
        (httpx.ConnectError("refused"), "network", "could not be reached (ConnectError)"),
        (httpx.RemoteProtocolError("eof"), "network", "could not be reached"),
        (httpx.ReadTimeout("slow"), "timeout", "timed out"),
        (httpx.ConnectTimeout("slow"), "timeout", "timed out"),
    ],
)
async def test_no_answer_at_all_is_network_or_timeout(
    http: httpx.AsyncClient, endpoint: TokenEndpoint, exc: Exception, expected: str, words: str
) -> None:
    endpoint.answer(exc)
    error = await refusal(http)
    assert error.code == expected
    assert words in error.message
    assert error.failure.status is None


# -- §4.1.1 and §4.1.2: the authorization request and its answer -------------------------------


def _authorize(client: OAuthClient) -> dict[str, str]:
    pkce = Pkce(Secret("v" * 64), "challenge-xyz")
    url = authorization_url(client, redirect_uri="http://127.0.0.1:1/cb", state="st-1", pkce=pkce)
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorization_url_carries_the_pkce_challenge_and_vendor_params() -> None:
    client = OAuthClient(
        client_id="cli-4821",
        token_endpoint=ENDPOINT,
        authorization_endpoint="https://issuer.test/authorize",
        scopes=("openid", "offline_access"),
        authorize_params={"prompt": "login"},
    )
    assert _authorize(client) == {
        "response_type": "code",
        "client_id": "cli-4821",
        "redirect_uri": "http://127.0.0.1:1/cb",
        "scope": "openid offline_access",
        "state": "st-1",
        "code_challenge": "challenge-xyz",
        "code_challenge_method": "S256",
        "prompt": "login",
    }


def test_authorization_url_without_scopes_omits_scope_and_keeps_an_existing_query() -> None:
    client = OAuthClient(
        client_id="c", token_endpoint=ENDPOINT, authorization_endpoint="https://i.test/a?tenant=x"
    )
    url = authorization_url(
        client, redirect_uri="http://127.0.0.1:1/cb", state="s", pkce=Pkce(Secret("v"), "ch")
    )
    assert url.startswith("https://i.test/a?tenant=x&")
    assert "scope" not in parse_qs(urlsplit(url).query)


def test_authorization_url_needs_an_authorization_endpoint() -> None:
    with pytest.raises(OAuthError) as caught:
        _authorize(CLIENT)
    assert caught.value.code == "auth_dead"


def test_a_callback_with_the_right_state_gives_its_code() -> None:
    callback = Callback.from_query("code=c-1&state=st-1&iss=https%3A%2F%2Fissuer.test")
    assert callback.accept(state="st-1", issuer="https://issuer.test") == "c-1"


@pytest.mark.parametrize(
    ("query", "expected", "words"),
    [
        ("code=c-1&state=other", "bad_request", "state mismatch"),
        ("code=c-1&state=st-1&iss=https%3A%2F%2Fevil.test", "bad_request", "another issuer"),
        ("error=access_denied&error_description=User+said+no&state=st-1", "auth_dead", "said no"),
        ("error=access_denied&state=st-1", "auth_dead", "access_denied"),
        ("state=st-1", "auth_dead", "no authorization code"),
        ("code=&state=st-1", "auth_dead", "no authorization code"),
    ],
)
def test_a_callback_that_is_not_ours_or_a_refusal_is_refused(
    query: str, expected: str, words: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        Callback.from_query(query).accept(state="st-1", issuer="https://issuer.test")
    assert caught.value.code == expected
    assert words in caught.value.message


def test_the_state_is_checked_before_an_error_in_the_callback() -> None:
    # A refusal that is not ours must not be believed (it could be injected).
    with pytest.raises(OAuthError) as caught:
        Callback.from_query("error=access_denied&state=forged").accept(state="st-1", issuer=None)
    assert caught.value.code == "bad_request"


def test_an_iss_is_only_checked_when_both_sides_know_one() -> None:
    callback = Callback.from_query("code=c-1&state=st-1&iss=https%3A%2F%2Fany.test")
    assert callback.accept(state="st-1", issuer=None) == "c-1"
    assert Callback.from_query("code=c-2&state=st-1").accept(state="st-1", issuer="x") == "c-2"

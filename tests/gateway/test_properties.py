"""Property: whatever a client with the right token sends to any route the app registers, the
gateway answers it, and never with a 5xx. Hypothesis makes the requests: bodies of arbitrary
JSON (nested past any bound, strings huge or odd, lone surrogates, numbers JSON has not),
random bytes and invalid UTF-8, good bodies with wrong types and hostile values at every field
a surface knows, odd path parameters, query strings and headers. The routes are read from the
app itself, so a route added later is covered without being listed here.

Each answer must be a 2xx, or a refusal in its surface's shape (`hostile.checked_refusal`);
no exception may leave the app and nothing may be logged at ERROR (`_boundary` logs
clawgate's own failures there); and after it all a good request to each route that takes one
is still answered. One gateway (in this process, through httpx's ASGI transport, on the fake
upstream) serves every example, as a real one would serve a hostile client."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.model_api import FakeModelAPI
from tests.gateway.hostile import (
    GOOD,
    checked_refusal,
    document,
    embedding_answers,
    platform_path,
    registered,
)
from tests.gateway.inprocess import TOKEN, Local, local_gateway
from tests.gateway.running import config

EXAMPLES_PER_ROUTE = 40
LIMIT: int = config("http://unused")["gateway"]["maxBodyBytes"]


@dataclass(frozen=True)
class Served:
    portal: BlockingPortal
    local: Local

    def send(self, case: Case) -> httpx.Response:
        request = functools.partial(
            self.local.client.request,
            case.method,
            case.url,
            content=case.body,
            headers=[(name.encode(), value) for name, value in case.headers.items()],
        )
        return self.portal.call(request)


class Case:
    """One request. Not a dataclass: hypothesis prints those field by field, and a body can
    be a megabyte; this one's repr is kept short."""

    def __init__(
        self, method: str, path: str, url: str, headers: dict[str, bytes], body: bytes
    ) -> None:
        self.method = method
        self.path = path  # the route's template, for the surface's shape
        self.url = url
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        more = f" ({len(self.body)} bytes)" if len(self.body) > 300 else ""
        return (
            f"Case({self.method} {self.url[:300]!r} headers={self.headers!r} body={body!r}{more})"
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI) -> Iterator[Served]:
    _model_api.reset()
    embedding_answers(_model_api)
    state = tmp_path_factory.mktemp("properties") / "state"
    with start_blocking_portal() as portal:
        serving = local_gateway(state, _model_api, document(_model_api.url))
        with portal.wrap_async_context_manager(serving) as local:
            yield Served(portal, local)
    _model_api.reset()


# -- values ---------------------------------------------------------------------------------------

# Text of every kind: control characters, lone surrogates, other planes.
ODD_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
ODD_REFS = st.sampled_from(
    [
        "clawgate",
        "up/m",
        "alt/m",
        "UP/m",
        "nope/x",
        "up/m\u0100",
        "up/m\nx",
        "up/m\r\nx-evil: 1",
        "up/m\x00",
        "up/\ud800",
        "/m",
        "up/",
        "claude-sonnet-4",
        "up/" + "m" * 300,
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, 0.5, 1e300]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ODD_TEXT, ODD_REFS)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(ODD_TEXT, st.sampled_from(["type", "role", "content"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body as it is: nesting deeper than Python's own encoder goes."""

    text: str


@st.composite
def nested(draw: st.DrawFn) -> Raw:
    """A value wrapped in arrays or objects, from a few levels to past any parser's limit."""
    depth = draw(st.sampled_from([1, 8, 63, 64, 65, 200, 999, 5_000, 100_000]))
    leaf = json.dumps(draw(SCALARS))
    if draw(st.booleans()):
        return Raw('{"k": ' * depth + leaf + "}" * depth)
    return Raw("[" * depth + leaf + "]" * depth)


def huge_strings() -> st.SearchStrategy[str]:
    sizes = st.sampled_from([1_000, 100_000, LIMIT - 200, LIMIT + 10])
    return st.builds(lambda n, c: c * n, sizes, st.sampled_from(["x", "\u00e9", "\n", "\ud800"]))


# Message and content shapes that each surface has seen, and some no surface has.
CONTENT = st.one_of(
    ODD_TEXT,
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"type": st.just("text"), "text": ODD_TEXT}),
            st.fixed_dictionaries(
                {
                    "type": st.just("image_url"),
                    "image_url": st.fixed_dictionaries({"url": ODD_TEXT}),
                }
            ),
            st.fixed_dictionaries(
                {
                    "type": st.just("image"),
                    "source": st.fixed_dictionaries(
                        {"type": st.just("base64"), "media_type": ODD_TEXT, "data": ODD_TEXT}
                    ),
                }
            ),
            st.fixed_dictionaries(
                {
                    "type": st.just("tool_use"),
                    "id": ODD_TEXT,
                    "name": ODD_TEXT,
                    "input": JSON_VALUES,
                }
            ),
            st.fixed_dictionaries(
                {"type": st.just("tool_result"), "tool_use_id": ODD_TEXT, "content": JSON_VALUES}
            ),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["input_text", "output_text"]), "text": ODD_TEXT}
            ),
            st.fixed_dictionaries({"type": st.just("input_audio"), "input_audio": JSON_VALUES}),
            JSON_VALUES,
        ),
        max_size=3,
    ),
)
ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", "function", "robot"])
MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": ROLES, "content": CONTENT}),
    st.fixed_dictionaries(
        {
            "role": st.just("assistant"),
            "content": st.none(),
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": ODD_TEXT,
                        "type": st.just("function"),
                        "function": st.fixed_dictionaries(
                            {"name": ODD_TEXT, "arguments": st.one_of(ODD_TEXT, JSON_VALUES)}
                        ),
                    }
                ),
                max_size=2,
            ),
        }
    ),
    st.fixed_dictionaries({"role": st.just("tool"), "tool_call_id": ODD_TEXT, "content": CONTENT}),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning"])}
    ),
    JSON_VALUES,
)

# The fields some surface reads, each with values of a shape that field might take.
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": ODD_REFS,
    "models": st.lists(ODD_REFS, max_size=40),
    "messages": st.lists(MESSAGE, max_size=3),
    "input": st.one_of(ODD_TEXT, st.lists(st.one_of(MESSAGE, ODD_TEXT), max_size=3)),
    "system": st.one_of(ODD_TEXT, st.lists(CONTENT, max_size=2)),
    "instructions": ODD_TEXT,
    "stream": st.one_of(st.booleans(), SCALARS),
    "max_tokens": NUMBERS,
    "max_completion_tokens": NUMBERS,
    "max_output_tokens": NUMBERS,
    "temperature": NUMBERS,
    "top_p": NUMBERS,
    "top_k": NUMBERS,
    "n": NUMBERS,
    "stop": st.one_of(ODD_TEXT, st.lists(ODD_TEXT, max_size=3)),
    "stop_sequences": st.lists(ODD_TEXT, max_size=3),
    "tools": st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries(
                        {"name": ODD_TEXT, "parameters": JSON_VALUES}
                    ),
                }
            ),
            st.fixed_dictionaries({"name": ODD_TEXT, "input_schema": JSON_VALUES}),
            st.fixed_dictionaries(
                {"type": st.just("function"), "name": ODD_TEXT, "parameters": JSON_VALUES}
            ),
            JSON_VALUES,
        ),
        max_size=3,
    ),
    "tool_choice": st.one_of(st.sampled_from(["auto", "none", "required", "any"]), JSON_VALUES),
    "response_format": JSON_VALUES,
    "text": JSON_VALUES,
    "metadata": JSON_VALUES,
    "stream_options": JSON_VALUES,
    "logit_bias": JSON_VALUES,
    "thinking": JSON_VALUES,
    "reasoning": JSON_VALUES,
    "previous_response_id": ODD_TEXT,
    "store": SCALARS,
    "user": ODD_TEXT,
    "encoding_format": st.one_of(st.sampled_from(["float", "base64"]), SCALARS),
    "dimensions": NUMBERS,
    "provider": ODD_TEXT,
    "profile": ODD_TEXT,
    "timeout": NUMBERS,
    "concurrency": NUMBERS,
}


def hostile_value(field: str) -> st.SearchStrategy[Any]:
    return st.one_of(FIELDS.get(field, JSON_VALUES), SCALARS, JSON_VALUES, nested(), huge_strings())


# -- bodies ---------------------------------------------------------------------------------------


def _dumped(document: Any, draw: st.DrawFn) -> bytes:
    """JSON text of ``document``: escaped as ASCII (lone surrogates as ``\\ud800``) or as
    UTF-8 (lone surrogates as the bytes UTF-8 forbids); NaN and Infinity as Python writes
    them; `Raw` text as it is."""
    raws: list[str] = []

    def placeholder(value: object) -> str:
        assert isinstance(value, Raw)
        raws.append(value.text)
        return f"@@raw{len(raws) - 1}@@"

    if draw(st.booleans()):
        text = json.dumps(document, default=placeholder)
        encoded = text.encode("ascii")
    else:
        text = json.dumps(document, ensure_ascii=False, default=placeholder)
        encoded = text.encode("utf-8", "surrogatepass")
    for index, raw in enumerate(raws):
        encoded = encoded.replace(f'"@@raw{index}@@"'.encode(), raw.encode(), 1)
    return encoded


@st.composite
def mutated(draw: st.DrawFn, path: str) -> bytes:
    """The route's good body with fields replaced, removed or added."""
    body: dict[str, Any] = dict(GOOD.get(path, {}))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        field = draw(
            st.one_of(
                st.sampled_from(sorted(FIELDS)),
                st.sampled_from(sorted(body) or ["model"]),
                ODD_TEXT,
            )
        )
        if field in body and draw(st.integers(0, 4)) == 0:
            del body[field]
        else:
            body[field] = draw(hostile_value(field))
    return _dumped(body, draw)


@st.composite
def spoiled_text(draw: st.DrawFn, path: str) -> bytes:
    """The route's good body with bytes no JSON text or UTF-8 has where its text was."""
    good = json.dumps(GOOD.get(path, {"profile": "Say hello."})).encode()
    bad = draw(
        st.sampled_from(
            [
                b"\xff",
                b"\xc3",
                b"\xed\xa0\x80",
                b"\\ud800",
                b"\\udc00x",
                b"\xe9",
                b"\x00",
                b'\\"',
                b"\\",
            ]
        )
    )
    target = b"Say hello." if b"Say hello." in good else good[1:-1]
    return good.replace(target, target[:3] + bad + target[3:], 1)


def bodies(path: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.just(b""),
        st.binary(max_size=500),
        st.builds(json.dumps, JSON_VALUES).map(str.encode),
        nested().map(lambda raw: raw.text.encode()),
        mutated(path),
        mutated(path),
        mutated(path),
        spoiled_text(path),
        st.just(json.dumps(GOOD.get(path, {})).encode()),
    )


# -- requests -------------------------------------------------------------------------------------

HEADER_BYTES = st.binary(max_size=40).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
)


@st.composite
def requests(draw: st.DrawFn, method: str, template: str) -> Case:
    url = template
    while "{" in url:
        start, end = url.index("{"), url.index("}")
        param = draw(st.one_of(ODD_TEXT.filter(bool), ODD_REFS, st.just("up/m")))
        encoded = quote(
            param.encode("utf-8", "surrogatepass"), safe="/" if ":path" in url[start:end] else ""
        )
        url = url[:start] + (encoded or "x") + url[end + 1 :]
    query = draw(
        st.lists(
            st.tuples(st.one_of(st.just("last"), ODD_TEXT), st.one_of(ODD_TEXT, NUMBERS.map(str))),
            max_size=3,
        )
    )
    if query:
        url += "?" + urlencode(
            [
                (k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
                for k, v in query
            ]
        )
    auth = draw(st.sampled_from([("authorization", f"Bearer {TOKEN}"), ("x-api-key", TOKEN)]))
    headers = {auth[0]: auth[1].encode()}
    headers["content-type"] = draw(
        st.sampled_from(
            [b"application/json", b"text/plain", b"", b"application/x-www-form-urlencoded"]
        )
    )
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "anthropic-version",
                    "anthropic-beta",
                    "openai-beta",
                    "x-stainless-os",
                    "accept",
                    "x-request-id",
                ]
            ),
            max_size=3,
        )
    ):
        headers[name] = draw(HEADER_BYTES)
    if draw(st.sampled_from([False] * 9 + [True])):  # now and then, a method it does not take
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    return Case(method, template, url, headers, draw(bodies(template)))


# -- the property ---------------------------------------------------------------------------------


def check(case: Case, answer: httpx.Response) -> None:
    assert answer.status_code < 500, (case, answer.status_code, answer.text[:1000])
    if answer.status_code >= 400:
        checked_refusal(case.path, answer)
        return
    if answer.status_code in (307, 308):  # starlette's to the path without its last slash
        assert answer.headers["location"].startswith("http://localhost/"), (case, answer.headers)
        return
    kind = answer.headers.get("content-type", "")
    if case.path == "/metrics":  # the Prometheus text format
        assert kind.startswith("text/plain"), (case, kind)
    elif not platform_path(case.path):
        assert kind.startswith(("application/json", "text/event-stream")), (case, kind)
    for value in answer.headers.values():
        assert value.isascii(), (case, answer.headers)


def run(served: Served, method: str, template: str, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(case=requests(method, template))
    def answers_hostile_requests(case: Case) -> None:
        check(case, served.send(case))

    answers_hostile_requests()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_every_route_answers_hostile_requests_without_a_5xx(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    routes = registered(served.local.app)
    assert {path for _, path in routes} >= set(GOOD)  # every surface is here
    caplog.set_level(logging.WARNING)
    for method, template in routes:
        run(served, method, template, EXAMPLES_PER_ROUTE)
    assert errors_logged(caplog) == []
    # And a good request is still answered: by every route that takes a body, streamed too.
    bearer = {"authorization": f"Bearer {TOKEN}".encode()}
    for path, body in GOOD.items():
        answer = served.send(Case("POST", path, path, bearer, json.dumps(body).encode()))
        assert answer.status_code == 200, (path, answer.text[:500])
    asked = json.dumps({**GOOD["/v1/chat/completions"], "stream": True}).encode()
    streamed = served.send(Case("POST", "", "/v1/chat/completions", bearer, asked))
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert served.send(Case("GET", "", "/v1/models", bearer, b"")).status_code == 200

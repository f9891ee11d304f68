"""``POST /v1/embeddings`` through a real gateway process, with the official `openai` SDK's
``client.embeddings.create`` as the caller: OpenAI-compatible upstreams on the fake (their
documented answer, `tests/fakes/embeddings.py`) and the embedded llama.cpp engine for real;
floats and base64; a failing profile replaced by the same model's next one; a fallback of other
dimensions skipped and recorded, and refused in words when it is all that is left."""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import embeddings as fake
from tests.fakes.model_api import OPENAI, FakeModelAPI, Reply, Seen
from tests.gateway.running import RunningGateway, config, start_gateway
from tests.gateway.wired import Clients, upstream

WORDS = ["the cat", "sat down on the mat"]
SIZES = {"/ok/": 8, "/two/": 8, "/c1/": 8, "/c2/": 8, "/wide/": 16}
CHAIN = {"primary": "c1/e", "fallbacks": ["wide/e", "c2/e"]}


def _document(api_url: str, embeddings: Any = CHAIN) -> dict[str, Any]:
    document = config(api_url)
    timeouts = {"connect": 2, "firstToken": 5, "idle": 5, "total": 10}
    for path, size in SIZES.items():
        name = path.strip("/")
        model = {"id": "e", "dimensions": size}
        document["models"]["providers"][name] = upstream(
            api_url, name, "openai-completions", model, timeouts=timeouts
        )
    document["models"]["providers"]["two"]["auth"] = "api-key"
    if embeddings != "absent":
        document["agents"]["defaults"]["embeddings"] = embeddings
    return document


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    running = start_gateway(tmp_path_factory.mktemp("embeddings") / "state", _model_api)
    running.write_config(json.dumps(_document(_model_api.url)))
    assert control(running, "POST", "/control/reload")["ok"]
    for profile in ("a", "b"):
        added = running.cli(
            "models", "auth", "add", "--provider", "two", "--profile-id", f"two:{profile}",
            "--api-key-stdin", stdin=f"sk-two-{profile}\n",
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def api(_model_api: FakeModelAPI) -> Iterator[FakeModelAPI]:
    """The fake, answering ``…/embeddings`` for every test here."""
    _model_api.reset()
    _model_api.default = fake.answering(SIZES, _model_api.default)
    yield _model_api
    _model_api.reset()


client = Clients(lambda gateway, token: gateway.client(token))


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    client.close()


def control(gateway: RunningGateway, method: str, path: str) -> Any:
    headers = {"Authorization": f"Bearer {gateway.token}"}
    with httpx.Client(base_url=gateway.url, headers=headers) as http:
        response = http.request(method, path)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def reconfigure(gateway: RunningGateway, api: FakeModelAPI) -> Iterator[Any]:
    """Set ``agents.defaults.embeddings`` for one test ("absent": the key left out)."""

    def set_chain(embeddings: Any) -> None:
        gateway.write_config(json.dumps(_document(api.url, embeddings)))
        assert control(gateway, "POST", "/control/reload")["ok"]

    yield set_chain
    set_chain(CHAIN)


def decisions(gateway: RunningGateway, turn: str) -> list[tuple[str, str, str, str | None]]:
    [record] = [
        t for t in control(gateway, "GET", "/control/decisions?last=5") if t["turn_id"] == turn
    ]
    return [(a["candidate"], a["profile"], a["decision"], a["reason"]) for a in record["attempts"]]


def expected(size: int) -> list[list[float]]:
    return [fake.vector(w, size) for w in WORDS]


# -- an OpenAI-compatible upstream ---------------------------------------------------------------


def test_float_vectors_with_who_made_them(gateway: RunningGateway, api: FakeModelAPI) -> None:
    raw = client(gateway).embeddings.with_raw_response.create(
        model="ok/e", input=WORDS, encoding_format="float"
    )
    answer = raw.parse()
    assert [d.embedding for d in answer.data] == expected(8)
    assert [(d.object, d.index) for d in answer.data] == [("embedding", 0), ("embedding", 1)]
    assert (answer.object, answer.model) == ("list", "ok/e")
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (7, 7)
    turn = raw.headers["x-clawgate-turn"]
    assert (raw.headers["x-clawgate-model"], raw.headers["x-clawgate-profile"]) == (
        "ok/e",
        "ok:default",
    )
    assert raw.headers["x-clawgate-fallback"] == "false"
    assert answer.model_extra is not None
    assert answer.model_extra["clawgate"] == {
        "turn": turn,
        "model": "ok/e",
        "profile": "ok:default",
        "fallback": False,
    }
    assert api.paths("/ok/")[-1].body == {
        "model": "e",
        "input": WORDS,
        "encoding_format": "float",
    }
    assert decisions(gateway, turn) == [("ok/e", "ok:default", "succeeded", None)]


def test_base64_is_float32_little_endian(gateway: RunningGateway, api: FakeModelAPI) -> None:
    answer = client(gateway).embeddings.create(model="ok/e", input=WORDS, encoding_format="base64")
    packed = [d.embedding for d in answer.data]
    assert all(isinstance(p, str) for p in packed)
    assert [list(struct.unpack("<8f", base64.b64decode(p))) for p in packed] == expected(8)  # type: ignore[arg-type]
    assert api.paths("/ok/")[-1].body["encoding_format"] == "float"  # upstream: floats


def test_the_sdks_default_base64_is_decoded_by_the_sdk(gateway: RunningGateway) -> None:
    answer = client(gateway).embeddings.create(model="ok/e", input="the cat", dimensions=4)
    assert [d.embedding for d in answer.data] == [fake.vector("the cat", 4)]


def test_clawgate_walks_the_embeddings_chain(gateway: RunningGateway) -> None:
    raw = client(gateway).embeddings.with_raw_response.create(model="clawgate", input=WORDS)
    assert raw.parse().model == "c1/e"
    assert raw.headers["x-clawgate-fallback"] == "false"


def test_a_503_on_the_first_profile_is_answered_by_the_next(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    def refuse_a(seen: Seen) -> Reply | None:
        return OPENAI["503"] if seen.headers.get("authorization") == "Bearer sk-two-a" else None

    api.authorize = refuse_a
    raw = client(gateway).embeddings.with_raw_response.create(model="two/e", input=WORDS)
    assert [d.embedding for d in raw.parse().data] == expected(8)
    assert (raw.headers["x-clawgate-profile"], raw.headers["x-clawgate-fallback"]) == (
        "two:b",
        "true",
    )
    assert [s.headers["authorization"] for s in api.paths("/two/")] == [
        "Bearer sk-two-a",
        "Bearer sk-two-a",  # an overloaded server is tried once more, after a short wait
        "Bearer sk-two-b",
    ]
    assert decisions(gateway, raw.headers["x-clawgate-turn"]) == [
        ("two/e", "two:a", "failed", "overloaded"),
        ("two/e", "two:a", "failed", "overloaded"),
        ("two/e", "two:b", "succeeded", None),
    ]


def test_a_fallback_of_other_dimensions_is_skipped_and_recorded(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["model"], path="/c1/")
    raw = client(gateway).embeddings.with_raw_response.create(model="default", input=WORDS)
    answer = raw.parse()
    assert answer.model == "c2/e"
    assert [d.embedding for d in answer.data] == expected(8)
    assert raw.headers["x-clawgate-fallback"] == "true"
    assert api.paths("/wide/") == []
    assert decisions(gateway, raw.headers["x-clawgate-turn"]) == [
        ("c1/e", "c1:default", "failed", "model_not_found"),
        ("wide/e", "wide:default", "skip_capability", "dimensions"),
        ("c2/e", "c2:default", "succeeded", None),
    ]


def test_when_only_other_dimensions_are_left_the_error_says_so(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["model"], path="/c1/")
    api.script(OPENAI["model"], path="/c2/")
    with pytest.raises(openai.NotFoundError) as failed:
        client(gateway).embeddings.create(model="clawgate", input=WORDS)
    message = failed.value.body["message"]  # type: ignore[index]
    assert "Not tried: wide/e" in message
    assert "vectors from different models are never mixed" in message
    assert api.paths("/wide/") == []
    turn = failed.value.response.headers["x-clawgate-turn"]
    assert decisions(gateway, turn)[1] == (
        "wide/e",
        "wide:default",
        "skip_capability",
        "dimensions",
    )


# -- requests refused up front -------------------------------------------------------------------


def test_token_arrays_are_refused(gateway: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(gateway).embeddings.create(model="ok/e", input=[[1, 2, 3]])
    assert "token arrays are not supported" in refused.value.body["message"]  # type: ignore[index]
    assert refused.value.body["param"] == "input"  # type: ignore[index]


@pytest.mark.parametrize("given", [[], [""], ["ok", 3.5]], ids=["empty", "blank", "mixed"])
def test_bad_inputs_are_refused(gateway: RunningGateway, given: list[Any]) -> None:
    with pytest.raises(openai.BadRequestError):
        client(gateway).embeddings.create(model="ok/e", input=given)


def test_fields_openai_does_not_have_are_named_as_dropped(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    raw = client(gateway).embeddings.with_raw_response.create(
        model="ok/e", input=WORDS, extra_body={"truncate": True}
    )
    assert raw.headers["x-clawgate-dropped-params"] == "truncate"
    assert "truncate" not in api.paths("/ok/")[-1].body


def test_an_unknown_model_is_a_400(gateway: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(gateway).embeddings.create(model="not-a-ref", input=WORDS)
    assert refused.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_the_models_list_names_the_embeddings_chain(
    gateway: RunningGateway, reconfigure: Any
) -> None:
    reconfigure({"primary": "openai/text-embedding-3-small", "fallbacks": ["c2/e"]})
    listed = [m.id for m in client(gateway).models.list()]
    assert "openai/text-embedding-3-small" in listed  # no provider entry lists it
    reconfigure(None)
    assert "openai/text-embedding-3-small" not in [m.id for m in client(gateway).models.list()]


def test_no_chain_names_the_config_key(gateway: RunningGateway, reconfigure: Any) -> None:
    reconfigure(None)
    with pytest.raises(openai.NotFoundError) as refused:
        client(gateway).embeddings.create(model="clawgate", input=WORDS)
    body = refused.value.body
    assert body["code"] == "model_not_found"  # type: ignore[index]
    assert "agents.defaults.embeddings" in body["message"]  # type: ignore[index]
    # A named model still works without a chain.
    assert client(gateway).embeddings.create(model="ok/e", input=WORDS).model == "ok/e"


# -- the embedded engine, for real -------------------------------------------------------------


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def test_the_embedded_model_is_the_default_chain(gateway: RunningGateway, reconfigure: Any) -> None:
    reconfigure("absent")
    sdk = client(gateway)
    floats = sdk.embeddings.create(model="clawgate", input=WORDS, encoding_format="float")
    assert floats.model == "local/smollm2-135m"
    assert [len(d.embedding) for d in floats.data] == [576, 576]
    assert all(abs(_norm(d.embedding) - 1) < 1e-4 for d in floats.data)
    assert floats.usage.prompt_tokens > 0
    packed = sdk.embeddings.create(
        model="local/smollm2-135m", input=WORDS, encoding_format="base64"
    )
    unpacked = [
        struct.unpack("<576f", base64.b64decode(d.embedding))  # type: ignore[arg-type]
        for d in packed.data
    ]
    for got, want in zip(unpacked, floats.data, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want.embedding, strict=True)) < 1e-5


def test_the_embedded_model_cannot_shorten_its_vectors(gateway: RunningGateway) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(gateway).embeddings.create(model="local/smollm2-135m", input=WORDS, dimensions=64)
    assert "cannot shorten them to 64" in refused.value.body["message"]  # type: ignore[index]

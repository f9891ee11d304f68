"""The OpenAI-compatible API, called by the official `openai` client against a running gateway
process."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.fakes.model_api import OPENAI, FakeModelAPI, chat_frames, stream
from tests.gateway.running import RunningGateway

HELLO = [{"role": "user", "content": "Say hello."}]


def test_a_completion_names_who_answered(gateway: RunningGateway, api: FakeModelAPI) -> None:
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="clawgate",
        messages=HELLO,  # type: ignore[arg-type]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "up/m"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 3)
    assert raw.headers["x-clawgate-model"] == "up/m"
    assert raw.headers["x-clawgate-profile"] == "up:default"
    assert raw.headers["x-clawgate-fallback"] == "false"
    extra = completion.model_extra or {}
    assert extra["clawgate"]["turn"] == raw.headers["x-clawgate-turn"]
    assert api.seen[-1].body["messages"] == HELLO


def test_a_streamed_completion(gateway: RunningGateway) -> None:
    chunks = list(
        gateway.client().chat.completions.create(
            model="clawgate",
            messages=HELLO,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    assert (finals[0].model_extra or {})["clawgate"]["model"] == "up/m"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 15


def test_a_fallback_is_said_in_headers_and_body(gateway: RunningGateway, api: FakeModelAPI) -> None:
    api.script(*[OPENAI["500"]] * 2, path="/f1/")
    raw = gateway.client().chat.completions.with_raw_response.create(
        model="f1/m",
        messages=HELLO,  # type: ignore[arg-type]
        extra_body={"models": ["f1/m", "alt/m"]},
    )
    assert raw.headers["x-clawgate-model"] == "alt/m"
    assert raw.headers["x-clawgate-fallback"] == "true"
    assert (raw.parse().model_extra or {})["clawgate"]["fallback"] is True


def test_a_concrete_model_is_strict(gateway: RunningGateway, api: FakeModelAPI) -> None:
    api.script(*[OPENAI["500"]] * 2, path="/s1/")
    with pytest.raises(openai.APIStatusError) as failure:
        gateway.client().chat.completions.create(model="s1/m", messages=HELLO)  # type: ignore[arg-type]
    assert failure.value.status_code == 502
    assert failure.value.body["code"] == "server_error"  # type: ignore[index]
    assert failure.value.response.headers["x-clawgate-turn"]
    assert api.paths("/alt/") == []  # strict: no fallback


def test_an_explicit_models_list_is_walked(gateway: RunningGateway, api: FakeModelAPI) -> None:
    api.script(OPENAI["model"], path="/m1/")
    completion = gateway.client().chat.completions.create(
        model="m1/m",
        messages=HELLO,  # type: ignore[arg-type]
        extra_body={"models": ["m1/m", "up/m"]},
    )
    assert completion.model == "up/m"


def test_content_filter_is_a_400_with_the_class_as_code(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(OPENAI["content_policy"], path="/c1/")
    with pytest.raises(openai.BadRequestError) as failure:
        gateway.client().chat.completions.create(model="c1/m", messages=HELLO)  # type: ignore[arg-type]
    assert failure.value.code == "content_filter"
    assert "safety system" in failure.value.message


def test_a_stream_cut_after_content_ends_with_an_error_not_a_finish(
    gateway: RunningGateway, api: FakeModelAPI
) -> None:
    api.script(stream(chat_frames().first(2), then="cut"), path="/x1/")
    seen: list[str] = []
    chunks = gateway.client().chat.completions.create(
        model="x1/m",
        messages=HELLO,  # type: ignore[arg-type]
        stream=True,
    )

    def read_all() -> None:
        for c in chunks:
            if c.choices:
                seen.append(c.choices[0].delta.content or "")
                assert c.choices[0].finish_reason in (None, "error")

    with pytest.raises(openai.APIError) as failure:
        read_all()
    assert "".join(seen) == "Hello"
    assert "broke off" in failure.value.message


def test_models_lists_the_default_the_chain_and_aliases(gateway: RunningGateway) -> None:
    ids = [m.id for m in gateway.client().models.list()]
    assert ids[0] == "clawgate"
    assert {"up/m", "alt/m"} <= set(ids)


def test_healthz_needs_no_token_and_says_nothing_secret(gateway: RunningGateway) -> None:
    answer = httpx.get(gateway.url + "/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_without_the_right_token_every_route_is_401(
    gateway: RunningGateway, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for method, path in [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("GET", "/control/status"),
        ("POST", "/control/reload"),
    ]:
        answer = httpx.request(method, gateway.url + path, headers=headers, json={})
        assert answer.status_code == 401, path
        assert answer.json()["error"]["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        gateway.client(token or "x").chat.completions.create(model="clawgate", messages=HELLO)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "body"),
        (json.dumps({"model": "clawgate"}).encode(), "messages"),
        (json.dumps({"model": "clawgate", "messages": HELLO, "top_p": 7}).encode(), "top_p"),
        (
            json.dumps(
                {"model": "clawgate", "messages": [{"role": "robot", "content": "x"}]}
            ).encode(),
            "role",
        ),
        (json.dumps({"model": "nope", "messages": HELLO}).encode(), "nope"),
    ],
)
def test_malformed_requests_get_openai_shaped_400s(
    gateway: RunningGateway, body: bytes, message: str
) -> None:
    answer = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {gateway.token}", "content-type": "application/json"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert message in error["message"]


def test_an_oversized_body_is_413(gateway: RunningGateway) -> None:
    big = {"model": "clawgate", "messages": [{"role": "user", "content": "x" * (2 << 20)}]}
    answer = httpx.post(
        gateway.url + "/v1/chat/completions",
        json=big,
        headers={"Authorization": f"Bearer {gateway.token}"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "request_too_large"


def test_unknown_routes_are_openai_shaped_404s(gateway: RunningGateway) -> None:
    answer = httpx.get(gateway.url + "/v1/nothing")
    assert answer.status_code == 404
    assert "error" in answer.json()

"""Full-fidelity turns on the two subscription wires that need stored credentials, through a
real gateway process with the official `openai` SDK as the caller: the ChatGPT/Codex backend
(``openai-codex``: the Responses wire at ``/backend-api/codex/responses``, always streamed) and
GitHub Copilot (``github-copilot``: Chat Completions, or ``/responses`` for its Codex models,
with a short-lived Copilot token the broker mints from the stored GitHub token). The profiles
are in the gateway's vault before it starts; every assertion is on what reached the fakes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from clawgate.secret import Secret
from clawgate.vault import KeyResolver, OAuthMaterial, TokenMaterial, Vault
from tests.fakes import chat_tools, responses_tools
from tests.fakes.github import FakeGitHub
from tests.fakes.model_api import FakeModelAPI, Reply, stream
from tests.fakes.openai_auth import AUTH_CLAIM, jwt
from tests.fakes.server import serve
from tests.gateway.running import RunningGateway, config, start_gateway

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAA"
    "BQABpfZFQAAAAABJRU5ErkJggg=="
)
# Typed Any: the SDK's TypedDict overloads are not what these tests are about.
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather now",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]

ACCOUNT = "acct_7c1e"
# A closed loopback port: a refresh attempted against it fails at once (connection refused).
DEAD_ISSUER = "http://127.0.0.1:9"
TIMEOUTS = {"connect": 2, "firstToken": 5, "idle": 5, "total": 20}

# The fake's paths: the Codex backend under /backend-api, Copilot at the fake's root.
CODEX_PATH = "/backend-api/codex/responses"
COPILOT_CHAT = "/chat/completions"
COPILOT_RESPONSES = "/responses"

CODEX = "openai-codex/gpt-5-codex"
COPILOT = "github-copilot/gpt-4.1"
COPILOT_CODEX = "github-copilot/gpt-5-codex"  # served on Copilot's /responses only


# -- the gateway, its vault and the fakes ----------------------------------------------------


@pytest.fixture(scope="module")
def github() -> Iterator[tuple[FakeGitHub, str]]:
    """The fake GitHub's Copilot token endpoint, on the real clock (the gateway's)."""
    fake = FakeGitHub(now=time.time())
    with serve(fake.app) as url:
        yield fake, url


def _access_token() -> str:
    claims = {AUTH_CLAIM: {"chatgpt_account_id": ACCOUNT, "chatgpt_plan_type": "plus"}}
    return jwt({"exp": int(time.time() + 10 * 86400), **claims})


ACCESS = _access_token()


def _store_profiles(state: Path, github_token: str) -> None:
    """The logins, in the vault the gateway will open: ``vault/`` in its state dir, whose key
    is the ``vault/key`` file (no key in the environment, no keyring here)."""
    vault_dir = state / "vault"
    vault = Vault(vault_dir, KeyResolver(vault_dir, {}))
    vault.save(
        "openai-codex:me",
        "openai-codex",
        OAuthMaterial(
            access=Secret(ACCESS),
            refresh=Secret("rt_subscription_refresh"),
            expires_at=time.time() + 10 * 86400,
            account_id=ACCOUNT,
        ),
    )
    vault.save("github-copilot:default", "github-copilot", TokenMaterial(Secret(github_token)))


def _wires(api_url: str, github_url: str) -> dict[str, Any]:
    document = config(api_url)
    document["models"]["providers"].update(
        {
            "openai-codex": {
                "baseUrl": f"{api_url}/backend-api",
                "oauth": {"issuer": DEAD_ISSUER},
                "timeouts": TIMEOUTS,
            },
            "github-copilot": {
                "baseUrl": api_url,
                "oauth": {"copilotTokenEndpoint": f"{github_url}/copilot_internal/v2/token"},
                "timeouts": TIMEOUTS,
            },
        }
    )
    return document


@pytest.fixture(scope="module")
def wired(
    tmp_path_factory: pytest.TempPathFactory,
    _model_api: FakeModelAPI,
    github: tuple[FakeGitHub, str],
) -> Iterator[RunningGateway]:
    fake_github, github_url = github
    state: Path = tmp_path_factory.mktemp("subscriptions") / "state"
    state.mkdir(mode=0o700, parents=True)
    _store_profiles(state, fake_github.github_token)  # before the gateway starts
    running = start_gateway(state, _model_api)
    running.write_config(json.dumps(_wires(_model_api.url, github_url)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def sdk(wired: RunningGateway) -> Iterator[openai.OpenAI]:
    """One SDK client for the module, closed with it (no pooled socket left to the GC)."""
    client = wired.client()
    try:
        yield client
    finally:
        client.close()


def last(api: FakeModelAPI, path: str) -> dict[str, Any]:
    seen = api.paths(path)
    assert seen, f"nothing reached {path}"
    body = seen[-1].body
    assert isinstance(body, dict)
    return body


# -- a tool round trip on each wire ----------------------------------------------------------

CC_CALL = chat_tools.WEATHER
RESP_CALL = responses_tools.CALLS[0]

# case → (model, the fake's path, wire)
CASES: dict[str, tuple[str, str, str]] = {
    "codex": (CODEX, CODEX_PATH, "responses"),
    "copilot-chat": (COPILOT, COPILOT_CHAT, "chat"),
    "copilot-responses": (COPILOT_CODEX, COPILOT_RESPONSES, "responses"),
}


def _first_reply(case: str, streamed: bool) -> Reply:
    """That wire's documented tool-call answer; the Codex backend only ever streams."""
    wire = CASES[case][2]
    if wire == "chat":
        if streamed:
            return stream(chat_tools.tool_call_frames(CC_CALL).all())
        return Reply(body=chat_tools.tool_call_json(CC_CALL))
    if streamed or case == "codex":
        return stream(responses_tools.tool_frames((RESP_CALL,), model="gpt-5-codex"))
    return Reply(body=responses_tools.tool_json((RESP_CALL,), model="gpt-5-codex"))


def _call(case: str) -> tuple[str, str, str]:
    if CASES[case][2] == "chat":
        return CC_CALL.id, CC_CALL.name, CC_CALL.arguments
    return RESP_CALL


def _ask_with_tools(sdk: openai.OpenAI, model: str, streamed: bool) -> list[tuple[str, str, str]]:
    """The first turn: the model answers with a tool call; (id, name, arguments) of each."""
    if not streamed:
        answer = sdk.chat.completions.create(
            model=model,
            messages=ASK,
            tools=[WEATHER_TOOL],
            tool_choice="auto",
        )
        assert answer.choices[0].finish_reason == "tool_calls"
        return [
            (c.id, c.function.name, c.function.arguments)  # type: ignore[union-attr]
            for c in answer.choices[0].message.tool_calls or ()
        ]
    calls: dict[int, dict[str, str]] = {}
    finish = None
    with sdk.chat.completions.create(
        model=model,
        messages=ASK,
        tools=[WEATHER_TOOL],
        stream=True,
    ) as chunks:
        for piece in chunks:
            for choice in piece.choices:
                finish = choice.finish_reason or finish
                for delta in choice.delta.tool_calls or ():
                    call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = delta.id or call["id"]
                    if delta.function is not None:
                        call["name"] = delta.function.name or call["name"]
                        call["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    return [(c["id"], c["name"], c["arguments"]) for c in calls.values()]


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_tool_round_trip(
    wired: RunningGateway, sdk: openai.OpenAI, api: FakeModelAPI, case: str, streamed: bool
) -> None:
    model, path, wire = CASES[case]
    api.script(_first_reply(case, streamed), path=path)
    calls = _ask_with_tools(sdk, model, streamed)
    call_id, name, arguments = _call(case)
    assert [(i, n) for i, n, _ in calls] == [(call_id, name)]
    assert json.loads(calls[0][2]) == json.loads(arguments)
    first = last(api, path)
    assert first["model"] == model.split("/", 1)[1]
    # The Codex backend is always asked for a stream; Copilot as the caller asked.
    assert first["stream"] is (True if case == "codex" else streamed)

    # The second turn sends the call and its result back; the model answers in text.
    history: Any = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"sky": "clear"}'},
    ]
    final = sdk.chat.completions.create(
        model=model,
        messages=history,
        tools=[WEATHER_TOOL],
    )
    assert final.choices[0].message.content == "Hello there"
    assert final.choices[0].finish_reason == "stop"
    assert len(api.paths(path)) == 2
    second = last(api, path)
    if wire == "chat":
        assert first["tools"][0]["function"]["name"] == "get_weather"
        assert second["messages"][1]["role"] == "assistant"
        assert second["messages"][1]["tool_calls"] == [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ]
        assert second["messages"][2] == {
            "role": "tool",
            "tool_call_id": call_id,
            "content": '{"sky": "clear"}',
        }
    else:
        assert first["tools"][0]["name"] == "get_weather"  # flat, not under "function"
        kinds = [item.get("type") for item in second["input"]]
        assert kinds == ["message", "function_call", "function_call_output"]
        assert second["input"][1] == {
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        }
        assert second["input"][2] == {
            "type": "function_call_output",
            "call_id": call_id,
            "output": '{"sky": "clear"}',
        }


# -- images ----------------------------------------------------------------------------------


def _picture() -> Any:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
            ],
        }
    ]


def test_an_image_reaches_each_subscription_wire_in_its_own_shape(
    wired: RunningGateway, sdk: openai.OpenAI, api: FakeModelAPI
) -> None:
    for model in (CODEX, COPILOT):
        answer = sdk.chat.completions.create(model=model, messages=_picture())
        assert answer.choices[0].message.content == "Hello there"
    codex = last(api, CODEX_PATH)["input"][0]["content"]
    assert codex == [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PNG, "detail": "low"},
    ]
    copilot = last(api, COPILOT_CHAT)["messages"][0]["content"]
    assert copilot == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
    ]


# -- the Codex backend's options and its stream-only answers -------------------------------


def test_options_the_codex_backend_cannot_take_are_dropped_and_reported(
    wired: RunningGateway, sdk: openai.OpenAI, api: FakeModelAPI
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model=CODEX,
        messages=ASK,
        seed=7,
        temperature=0.2,
        max_completion_tokens=64,
    )
    assert raw.headers["x-clawgate-model"] == CODEX
    dropped = raw.headers["x-clawgate-dropped-params"].split(", ")
    assert {"seed", "temperature", "max_completion_tokens"} <= set(dropped), dropped
    completion = raw.parse()
    assert completion.model_extra["clawgate"]["dropped"] == dropped  # type: ignore[index]
    body = last(api, CODEX_PATH)
    unsent = {"seed", "temperature", "max_output_tokens", "max_tokens", "max_completion_tokens"}
    assert not unsent & set(body), body


def test_a_non_streamed_call_is_streamed_upstream_and_answered_whole(
    wired: RunningGateway, sdk: openai.OpenAI, api: FakeModelAPI
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(model=CODEX, messages=ASK)
    assert raw.headers["content-type"].startswith("application/json")
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (20, 3)
    body = last(api, CODEX_PATH)
    assert body["stream"] is True  # the backend only streams
    assert body["store"] is False
    assert body["instructions"]  # the backend requires them


# -- what each backend needs in its headers ------------------------------------------------


def test_the_codex_backend_gets_the_account_and_the_beta_header(
    wired: RunningGateway, sdk: openai.OpenAI, api: FakeModelAPI
) -> None:
    sdk.chat.completions.create(model=CODEX, messages=ASK)
    (seen,) = api.paths(CODEX_PATH)
    assert seen.method == "POST"
    assert seen.headers["chatgpt-account-id"] == ACCOUNT
    assert seen.headers["openai-beta"] == "responses=experimental"
    assert seen.headers["authorization"] == f"Bearer {ACCESS}"
    assert seen.headers["accept"] == "text/event-stream"


def test_copilot_gets_its_integration_id_and_the_minted_token(
    wired: RunningGateway,
    sdk: openai.OpenAI,
    api: FakeModelAPI,
    github: tuple[FakeGitHub, str],
) -> None:
    fake_github, _ = github
    for model in (COPILOT, COPILOT_CODEX):
        sdk.chat.completions.create(model=model, messages=ASK)
    assert fake_github.copilot_tokens >= 1  # minted from the stored GitHub token
    for path in (COPILOT_CHAT, COPILOT_RESPONSES):
        (seen,) = api.paths(path)
        assert seen.headers["copilot-integration-id"] == "vscode-chat"
        bearer = seen.headers["authorization"]
        assert bearer.startswith("Bearer tid=1;"), bearer  # the Copilot token, not GitHub's
        assert fake_github.github_token not in bearer

"""`clawgate usage` and ``GET /control/usage``: known turns through a real gateway with the fake
upstream (a metered model with a price, a subscription one, a free fallback, a failed turn)
add up to what the upstream said it used; metered turns are priced as an estimate, the
subscription's never."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from clawgate.state import Price, State, TurnRecord, UsageRecord, parse_since, usage_report
from tests.fakes.model_api import FakeModelAPI, Reply, chat_json, error
from tests.gateway.running import RunningGateway, start_gateway

PRICE = {"input": 2.0, "output": 8.0, "cacheRead": 0.5}  # dollars per million tokens


def _config(api_url: str) -> dict[str, Any]:
    def upstream(name: str, auth: str, **model: Any) -> dict[str, Any]:
        return {
            "api": "openai-completions",
            "baseUrl": f"{api_url}/{name}/v1",
            "auth": auth,
            "models": [{"id": "m", **model}],
            "timeouts": {"connect": 2, "firstToken": 2, "idle": 2, "total": 10},
        }

    return {
        "agents": {"defaults": {"model": {"primary": "free/m"}}},
        "models": {
            "providers": {
                "keyed": upstream("keyed", "api-key", cost=PRICE),
                "sub": upstream("sub", "token", cost=PRICE),  # a subscription: never priced
                "free": upstream("free", "none"),
                "flaky": upstream("flaky", "none"),
            }
        },
    }


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, _model_api: FakeModelAPI
) -> Iterator[RunningGateway]:
    running = start_gateway(
        tmp_path_factory.mktemp("usage") / "state",
        _model_api,
        document=_config(_model_api.url),
    )
    try:
        added = running.cli(
            "models", "auth", "add", "--provider", "keyed", "--api-key-stdin", stdin="sk-k-1\n"
        )
        assert added.exit_code == 0, added.output
        pasted = running.cli("models", "auth", "paste-token", "--provider", "sub", stdin="tok-1\n")
        assert pasted.exit_code == 0, pasted.output
        yield running
    finally:
        running.stop()


def _used(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> Reply:
    body = chat_json(usage=(prompt, completion))
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
    body["usage"]["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return Reply(body=body)


def _turn(gateway: RunningGateway, *models: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {gateway.token}"},
        json={
            "model": models[0],
            "models": list(models),
            "stream": False,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=30,
    )


def _control(gateway: RunningGateway, **query: str) -> httpx.Response:
    return httpx.get(
        f"{gateway.url}/control/usage",
        params=query,
        headers={"authorization": f"Bearer {gateway.token}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def turns(gateway: RunningGateway, _model_api: FakeModelAPI) -> dict[str, tuple[int, ...]]:
    """The scripted turns, once for the module: what each model was said to use."""
    api = _model_api
    api.reset()
    used = {
        "keyed": [(1000, 200, 400, 50), (12, 3, 0, 0)],
        "sub": [(100, 20, 30, 5)],
        "free": [(7, 2, 0, 0)],
    }
    for name, replies in used.items():
        api.script(*(_used(*r) for r in replies), path=f"/{name}/")
    for model in ("keyed/m", "keyed/m", "sub/m"):
        assert _turn(gateway, model).status_code == 200
    api.script(error(429, {"error": {"message": "slow down"}}), path="/flaky/")
    fallback = _turn(gateway, "flaky/m", "free/m")  # flaky fails, free answers
    assert fallback.status_code == 200
    api.script(*[error(500, {"error": {"message": "down"}})] * 3, path="/flaky/")
    assert _turn(gateway, "flaky/m").status_code >= 500  # a failed turn
    api.reset()
    gateway.records_written()  # the CLI reads state.db itself
    return {
        name: tuple(sum(r[i] for r in replies) for i in range(4)) for name, replies in used.items()
    }


def test_by_model_adds_up_what_the_upstream_said_and_prices_only_metered_turns(
    gateway: RunningGateway, turns: dict[str, tuple[int, ...]]
) -> None:
    shown = gateway.cli("usage", "--by", "model", "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    rows = {r["group"]: r for r in report["rows"]}
    assert set(rows) == {"keyed/m", "sub/m", "free/m", "flaky/m"}

    for name, (prompt, completion, cached, reasoning) in turns.items():
        row = rows[f"{name}/m"]
        got = (row["input_tokens"], row["output_tokens"], row["cached_tokens"])
        assert got == (prompt, completion, cached)
        assert row["reasoning_tokens"] == reasoning

    keyed = rows["keyed/m"]
    prompt, completion, cached, _ = turns["keyed"]
    price = Price(PRICE["input"], PRICE["output"], PRICE["cacheRead"])
    assert keyed["estimated_cost"] == pytest.approx(price.of(prompt, completion, cached))
    assert (keyed["requests"], keyed["metered_turns"], keyed["unpriced_turns"]) == (2, 2, 0)
    assert (rows["sub/m"]["subscription_turns"], rows["sub/m"]["estimated_cost"]) == (1, None)
    assert (rows["free/m"]["fallbacks"], rows["free/m"]["estimated_cost"]) == (1, None)
    # The failed turn has no answering model: it is counted under the one it asked for.
    assert (rows["flaky/m"]["requests"], rows["flaky/m"]["failures"]) == (1, 1)

    total = report["total"]
    assert total["requests"] == 5
    assert (total["failures"], total["fallbacks"]) == (1, 1)
    assert total["input_tokens"] == sum(t[0] for t in turns.values())
    assert total["estimated_cost"] == pytest.approx(keyed["estimated_cost"])
    assert report["cost_is_estimate"] is True


def test_the_gateway_answers_the_same_report(
    gateway: RunningGateway, turns: dict[str, tuple[int, ...]]
) -> None:
    for by in ("key", "profile", "model", "day"):
        answer = _control(gateway, since="7d", by=by)
        assert answer.status_code == 200, answer.text
        cli = json.loads(gateway.cli("usage", "--by", by, "--json").stdout)
        assert (answer.json()["rows"], answer.json()["total"]) == (cli["rows"], cli["total"])

    by_profile = {r["group"]: r["requests"] for r in _control(gateway, by="profile").json()["rows"]}
    assert by_profile == {"keyed:default": 2, "sub:manual": 1, "free:default": 1, "(none)": 1}
    by_key = _control(gateway, by="key").json()["rows"]  # the gateway token: no client key
    assert [(r["group"], r["requests"]) for r in by_key] == [("(none)", 5)]
    today = datetime.now(UTC).date().isoformat()
    assert [r["group"] for r in _control(gateway, by="day").json()["rows"]] == [today]


def test_since_keeps_the_turns_started_at_or_after_it() -> None:
    state = State.open(":memory:")
    try:
        for n, at in enumerate((100.0, 200.0, 300.0)):
            turn = f"t{n}"
            state.decisions.record(
                TurnRecord(turn, None, "free/m", at, at + 1, "succeeded", "free/m", "free:default")
            )
            state.usage.add(
                UsageRecord(turn, "free", "m", "free:default", "free", 10 * (n + 1), 1, at + 1)
            )
        report = usage_report(state.conn, parse_since("100m", 200.0 + 6000), "model", {})
    finally:
        state.close()
    (row,) = report.rows
    assert (row.requests, row.input_tokens) == (2, 20 + 30)


def test_the_table_says_the_cost_is_an_estimate(
    gateway: RunningGateway, turns: dict[str, tuple[int, ...]]
) -> None:
    shown = gateway.cli("usage")
    assert shown.exit_code == 0, shown.output
    assert "keyed/m" in shown.stdout
    assert "estimated from the config's model prices" in shown.stdout
    assert "1 subscription turn(s): counted against their plan's windows, not priced" in (
        shown.stdout
    )


@pytest.mark.parametrize(
    ("query", "param"),
    [({"since": "soon"}, "since"), ({"by": "colour"}, "by"), ({"who": "me"}, "who")],
)
def test_bad_queries_are_refused_naming_the_parameter(
    gateway: RunningGateway, query: dict[str, str], param: str
) -> None:
    answer = _control(gateway, **query)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_a_bad_span_is_a_one_line_usage_error(gateway: RunningGateway) -> None:
    shown = gateway.cli("usage", "--since", "lately")
    assert shown.exit_code == 2
    assert "use a number and m, h, d or w" in shown.output
    assert "Traceback" not in shown.output

"""A live reload retires the gateway's runtime; the retired one is closed, with its providers'
HTTP clients, when the last request holding it ends: a turn (streamed or not) or a probe."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from clawgate.gateway import Runtimes
from clawgate.runtime import Runtime
from tests.fakes.model_api import FakeModelAPI, Seen
from tests.gateway.inprocess import Local, SlowReader, local_gateway, sse_events, streamed_text
from tests.gateway.running import config

pytestmark = pytest.mark.anyio

RELOADS = 20
BOUND = 30.0  # seconds: a safety net for a broken test, never waited out when all is well


# -- the lease logic on its own ------------------------------------------------------------


class FakeRuntime:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = 0

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()  # a real close awaits: it may be cancelled there
        self.closed += 1


async def test_a_retired_runtime_closes_when_its_last_lease_is_released() -> None:
    a, b = FakeRuntime("a"), FakeRuntime("b")
    runtimes = Runtimes(a)
    first, second = runtimes.lease(), runtimes.lease()
    assert first.runtime is second.runtime is a
    await runtimes.replace(b)
    assert runtimes.current is b
    assert (runtimes.open, runtimes.leases(a), a.closed) == (2, 2, 0)
    await first.release()
    await first.release()  # a second release counts for nothing
    assert (runtimes.leases(a), a.closed) == (1, 0)
    async with second as held:
        assert held is a
    assert (runtimes.open, a.closed) == (1, 1)


async def test_a_runtime_retired_with_nothing_in_flight_closes_at_once() -> None:
    a, b = FakeRuntime("a"), FakeRuntime("b")
    runtimes = Runtimes(a)
    async with runtimes.lease():
        pass
    assert a.closed == 0  # the current runtime is not closed by its requests ending
    await runtimes.replace(b)
    assert (a.closed, b.closed, runtimes.open) == (1, 0, 1)


async def test_shutdown_closes_every_runtime_once_held_or_not() -> None:
    a, b = FakeRuntime("a"), FakeRuntime("b")
    runtimes = Runtimes(a)
    held = runtimes.lease()
    await runtimes.replace(b)
    await runtimes.aclose()
    assert (a.closed, b.closed, runtimes.open) == (1, 1, 0)
    await held.release()  # a turn that ends after the stop
    assert a.closed == 1


async def test_a_release_in_a_cancelled_request_still_closes() -> None:
    a, b = FakeRuntime("a"), FakeRuntime("b")
    runtimes = Runtimes(a)
    lease = runtimes.lease()
    await runtimes.replace(b)
    with anyio.CancelScope() as scope:
        scope.cancel()  # the client went away
        await lease.release()
    assert a.closed == 1


# -- a gateway, reloaded while turns are in flight -----------------------------------------


class HeldUpstream:
    """Holds each request at the fake upstream until the test lets it go, by the text of its
    last message."""

    def __init__(self, api: FakeModelAPI) -> None:
        self._arrived: queue.Queue[str] = queue.Queue()
        self._gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        api.authorize = self._hold

    def _gate(self, tag: str) -> threading.Event:
        with self._lock:
            return self._gates.setdefault(tag, threading.Event())

    def _hold(self, seen: Seen) -> None:
        tag = str(seen.body["messages"][-1]["content"])
        self._arrived.put(tag)
        self._gate(tag).wait(BOUND)

    async def arrived(self) -> str:
        return await anyio.to_thread.run_sync(lambda: self._arrived.get(timeout=BOUND))

    def release(self, tag: str) -> None:
        self._gate(tag).set()

    def release_all(self) -> None:
        with self._lock:
            gates = list(self._gates.values())
        for gate in gates:
            gate.set()


@pytest.fixture
def held(api: FakeModelAPI) -> Iterator[HeldUpstream]:
    upstream = HeldUpstream(api)
    yield upstream
    upstream.release_all()


def upstream_client(runtime: Runtime) -> httpx.AsyncClient:
    """The HTTP client the runtime's provider ``up`` sends on (made by its first request)."""
    client: httpx.AsyncClient = runtime.providers.get("up").transport.client  # type: ignore[attr-defined]
    return client


def patient(api_url: str) -> dict[str, Any]:
    """The test config, with time for a turn to be held at the upstream."""
    document = config(api_url)
    for provider in document["models"]["providers"].values():
        provider["timeouts"] = {
            "connect": BOUND,
            "firstToken": BOUND,
            "idle": BOUND,
            "total": BOUND,
        }
    return document


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "clawgate", "messages": [{"role": "user", "content": text}], **extra}


async def reload(local: Local) -> None:
    answer = await local.client.post("/control/reload")
    assert answer.json()["ok"] is True


async def test_reloads_during_turns_close_each_retired_runtime_when_its_turn_ends(
    tmp_path: Path, api: FakeModelAPI, held: HeldUpstream
) -> None:
    answers: dict[str, httpx.Response] = {}
    finished: dict[str, anyio.Event] = {}
    clients: list[httpx.AsyncClient] = []

    async def turn(local: Local, tag: str) -> None:
        answers[tag] = await local.client.post("/v1/chat/completions", json=ask(tag))
        finished[tag].set()

    async with (
        local_gateway(tmp_path / "state", api, patient(api.url)) as local,
        anyio.create_task_group() as tasks,
    ):
        runtimes = local.gateway.runtimes
        previous: str | None = None
        for n in range(RELOADS):
            tag = f"turn {n}"
            finished[tag] = anyio.Event()
            runtime = local.gateway.runtime
            tasks.start_soon(turn, local, tag)
            assert await held.arrived() == tag  # in flight, at the upstream
            clients.append(upstream_client(runtime))
            await reload(local)
            assert local.gateway.runtime is not runtime
            assert runtimes.leases(runtime) == 1
            assert not clients[-1].is_closed  # its turn still needs it
            if previous is not None:
                held.release(previous)
                await finished[previous].wait()
                assert clients[-2].is_closed  # retired, and its turn is over
            # Bounded: the runtime serving new turns, and the one the held turn is on.
            assert runtimes.open == 2
            previous = tag
        assert previous is not None
        held.release(previous)
        await finished[previous].wait()
        assert runtimes.open == 1
        assert runtimes.leases(local.gateway.runtime) == 0
    assert all(client.is_closed for client in clients)
    assert len(answers) == RELOADS
    for answer in answers.values():
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"] == "Hello there"
    assert local.gateway.runtimes.open == 0  # and the gateway's close closed the last one


async def test_reloads_with_every_turn_still_in_flight(
    tmp_path: Path, api: FakeModelAPI, held: HeldUpstream
) -> None:
    clients: list[httpx.AsyncClient] = []
    async with local_gateway(tmp_path / "state", api, patient(api.url)) as local:
        runtimes = local.gateway.runtimes
        async with anyio.create_task_group() as tasks:
            for n in range(RELOADS):
                runtime = local.gateway.runtime
                turn = partial(local.client.post, "/v1/chat/completions", json=ask(f"t{n}"))
                tasks.start_soon(turn)
                await held.arrived()
                clients.append(upstream_client(runtime))
                await reload(local)
            assert runtimes.open == RELOADS + 1
            assert not any(client.is_closed for client in clients)
            held.release_all()
        assert runtimes.open == 1  # every turn has ended: only the current runtime is left
        assert all(client.is_closed for client in clients)


@pytest.mark.parametrize(
    ("client_goes", "spec"),
    [("reads_to_the_end", "2.0"), ("disconnects", "2.0"), ("disconnects", "2.4")],
)
async def test_a_streamed_answer_holds_its_runtime_until_its_body_is_over(
    tmp_path: Path, api: FakeModelAPI, client_goes: str, spec: str
) -> None:
    async with (
        local_gateway(tmp_path / "state", api) as local,
        anyio.create_task_group() as tasks,
    ):
        runtime = local.gateway.runtime
        reader = SlowReader(local.app, "/v1/chat/completions", ask("hi", stream=True), spec=spec)
        tasks.start_soon(reader.run)
        await reader.first_chunk.wait()  # headers and the role chunk are out; the rest waits
        client = upstream_client(runtime)
        await reload(local)
        assert local.gateway.runtimes.leases(runtime) == 1
        assert not client.is_closed
        if client_goes == "reads_to_the_end":
            reader.read_on()
        else:
            reader.disconnect()
        await reader.done.wait()
        assert client.is_closed
        assert local.gateway.runtimes.open == 1
    assert reader.status == 200
    events = sse_events(reader.text)
    if client_goes == "reads_to_the_end":
        assert events[-1] == "[DONE]"
        assert streamed_text(events) == "Hello there"
        assert reader.error is None
    else:
        assert "[DONE]" not in events
        # A 2.4 server learns of the disconnect from the failed send (Starlette raises
        # ClientDisconnect); either way a client that went away is no error of the app's.
        assert reader.error is None


async def test_a_probe_holds_its_runtime(
    tmp_path: Path, api: FakeModelAPI, held: HeldUpstream
) -> None:
    probed: list[httpx.Response] = []
    done = anyio.Event()

    async def run_probe(local: Local) -> None:
        probed.append(await local.client.post("/control/probe", json={"profile": "up:default"}))
        done.set()

    async with (
        local_gateway(tmp_path / "state", api, patient(api.url)) as local,
        anyio.create_task_group() as tasks,
    ):
        runtime = local.gateway.runtime
        tasks.start_soon(run_probe, local)
        tag = await held.arrived()
        client = upstream_client(runtime)
        await reload(local)
        assert local.gateway.runtimes.leases(runtime) == 1
        assert not client.is_closed
        held.release(tag)
        await done.wait()
        assert client.is_closed
        assert local.gateway.runtimes.open == 1
    [result] = probed[0].json()["probes"]
    assert (result["profile"], result["ok"]) == ("up:default", True)

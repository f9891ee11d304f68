"""A half-open circuit lets one probe through per process: concurrent turns that find it
half-open while the probe is in flight go to their fallbacks, and the probe's answer decides
for every later turn."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from clawgate.runtime import TurnRequest
from tests.fakes.model_api import OPENAI, chat_frames, stream
from tests.routing.conftest import HELLO, World, steps

pytestmark = pytest.mark.anyio

SUB, FREE = "sub/m", "free/m"


async def open_circuit(world: World) -> None:
    world.start(**{"auth__order__sub": ["sub:me"]})
    world.api.script(*[OPENAI["502"]] * 3, path="/sub/")
    await world.turn()  # two failures (one retry)
    await world.turn()  # the third opens the circuit for 30 s
    world.clock.advance(31)  # half-open now


async def test_concurrent_turns_on_a_half_open_circuit_send_one_probe(world: World) -> None:
    await open_circuit(world)
    runtime = world.runtime
    assert runtime is not None
    primary = runtime.plan(TurnRequest(HELLO)).candidates[0]
    assert runtime.health.circuit(primary) == "half_open"
    before = len(world.api.paths("/sub/"))
    # The probe's answer is slow enough that the other turns plan while it is in flight.
    world.api.script(replace(stream(chat_frames().all()), delay=0.3), path="/sub/")

    results = await asyncio.gather(*(world.turn() for _ in range(4)))

    assert len(world.api.paths("/sub/")) - before == 1  # one probe, not four
    probes = [r for r in results if r.model == SUB]
    assert len(probes) == 1
    assert probes[0].fallback is False
    for other in results:
        if other is not probes[0]:
            assert other.model == FREE
            assert steps(other)[0] == (SUB, "sub:me", "skip_cooldown", "circuit_half_open")
    assert runtime.health.circuit(primary) == "closed"
    assert runtime.health.probing == set()  # handed back
    assert (await world.turn()).model == SUB  # traffic is back on the primary


async def test_a_failed_probe_hands_back_the_right_and_reopens(world: World) -> None:
    await open_circuit(world)
    runtime = world.runtime
    assert runtime is not None
    world.api.script(replace(OPENAI["502"], delay=0.3), path="/sub/")

    results = await asyncio.gather(*(world.turn() for _ in range(3)))

    assert all(r.model == FREE for r in results)
    decisions = sorted(steps(r)[0][2:] for r in results)
    assert decisions == [
        ("failed", "server_error"),
        ("skip_cooldown", "circuit_half_open"),
        ("skip_cooldown", "circuit_half_open"),
    ]
    assert runtime.health.probing == set()
    assert steps(await world.turn())[0][3] == "circuit_open"  # open again, twice as long
    world.clock.advance(61)
    assert (await world.turn()).model == SUB  # the next half-open probe may go

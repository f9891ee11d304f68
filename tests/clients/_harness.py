"""Real coding-agent clients (npm ``@openai/codex``, ``@anthropic-ai/claude-code``, installed by
``npm ci --prefix tests/servers``) run against a real gateway process whose upstream is the
fake model API, all three inside a network namespace that has only loopback, so nothing a
client tries (update checks, telemetry, plugin syncs) can leave the machine.

A test calls `run_isolated` with the name of a *turn function* (``"module:function"``). It runs
``python -m tests.clients._harness`` under ``unshare --net``; that process brings ``lo`` up,
calls the turn function (which starts the fake, the gateway and the client, in the namespace)
and writes what it returns, as JSON, where the test reads it back. The test then asserts on it
in the ordinary pytest process.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.model_api import (
    FakeModelAPI,
    Reply,
    Seen,
    chat_frames,
    chat_json,
    messages_frames,
    messages_json,
    responses_frames,
    responses_json,
    stream,
)
from tests.gateway.running import RunningGateway, config, start_gateway

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "tests" / "servers" / "node_modules"
INSTALL = "npm ci --prefix tests/servers"
ANSWER = "The answer is 42."
PARTS = ("The answer ", "is ", "42.")
CLIENT_TIMEOUT = 240  # seconds for one client run; the whole isolated run gets a minute more

# The three upstream wires, each a provider of the gateway's config whose model is "m".
WIRES = {
    "openai-completions": ("cc", "/v1", "/cc/v1/chat/completions"),
    "openai-responses": ("resp", "/v1", "/resp/v1/responses"),
    "anthropic-messages": ("anth", "", "/anth/v1/messages"),
}


# -- where the clients are ------------------------------------------------------------------


def node() -> str | None:
    return shutil.which("node")


def require(path: Path, what: str) -> Path:
    """``path``, or skip the test saying what is missing and how CI installs it."""
    if not path.exists():
        pytest.skip(f"{what} is not installed ({path.relative_to(ROOT)} missing): run `{INSTALL}`")
    return path


# -- the namespace ----------------------------------------------------------------------------


@functools.cache
def isolation() -> tuple[list[str] | None, str]:
    """The ``unshare`` prefix for a fresh network namespace with only loopback, or None and why
    there is none here."""
    if not shutil.which("unshare"):
        return None, "no `unshare` here (util-linux) to make a loopback-only network namespace"
    if not shutil.which("ip"):
        return None, "no `ip` here (iproute2) to bring loopback up in a network namespace"
    why = ""
    for prefix in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        probe = subprocess.run(
            [*prefix, "--", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return prefix, ""
        why = why or probe.stderr.strip()
    return None, f"cannot make a loopback-only network namespace here: `unshare --net`: {why}"


def run_isolated(turn: str, work: Path, **options: Any) -> dict[str, Any]:
    """Runs the turn function ``turn`` (``"module:function"``) with ``work`` and ``options`` in
    a new network namespace that has only loopback; returns what it returned. Skips the test
    where no such namespace can be made: without one, nothing would prove that the client
    stays on this machine."""
    prefix, why = isolation()
    if prefix is None:
        pytest.skip(why)
    work.mkdir(parents=True, exist_ok=True)
    result = work / "result.json"
    (work / "options.json").write_text(json.dumps(options))
    inner = [sys.executable, "-m", "tests.clients._harness", turn, str(work)]
    argv = [*prefix, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *inner]
    run = subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT + 60,
        check=False,
    )
    if run.returncode != 0 or not result.exists():
        raise AssertionError(
            f"the isolated run failed ({run.returncode}):\n{run.stdout[-4000:]}\n"
            f"{run.stderr[-8000:]}"
        )
    outcome: dict[str, Any] = json.loads(result.read_text())
    return outcome


def _inside(argv: list[str]) -> int:
    """The half that runs in the namespace (see `run_isolated`)."""
    turn, work = argv
    # The proof that nothing leaves the machine: this namespace has no interface but loopback.
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"]:
        raise SystemExit(f"not a loopback-only network namespace: interfaces {interfaces}")
    module, _, name = turn.partition(":")
    function: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), name)
    options = json.loads((Path(work) / "options.json").read_text())
    outcome = function(Path(work), **options)
    (Path(work) / "result.json").write_text(json.dumps(outcome))
    return 0


# -- the gateway and its upstream --------------------------------------------------------------


def answering(parts: tuple[str, ...] = PARTS) -> Callable[[Seen], Reply]:
    """The fake's answer to any model call: ``parts`` as text, on each wire in its own shape,
    streamed when the request says so."""

    def reply(seen: Seen) -> Reply:
        streamed = isinstance(seen.body, dict) and seen.body.get("stream") is True
        if seen.path.endswith("/chat/completions"):
            return stream(chat_frames(parts).all()) if streamed else Reply(body=chat_json(parts))
        if seen.path.endswith("/responses"):
            if streamed:
                return stream(responses_frames(parts).all())
            return Reply(body=responses_json(parts))
        if seen.path.endswith("/v1/messages"):
            if streamed:
                return stream(messages_frames(parts).all())
            return Reply(body=messages_json(parts))
        return Reply(404, {"error": {"message": f"no {seen.path} here", "type": "not_found"}})

    return reply


def gateway_config(api_url: str, wire: str, **defaults: Any) -> dict[str, Any]:
    """The tests' gateway config with the one upstream ``wire`` as the whole default chain (no
    fallback: the fake must see exactly the turns the client asked for)."""
    document = config(api_url)
    name, base, _ = WIRES[wire]
    document["models"]["providers"][name] = {
        "api": wire,
        "baseUrl": f"{api_url}/{name}{base}",
        "auth": "none",
        "timeouts": {"connect": 5, "firstToken": 20, "idle": 20, "total": 60},
        "models": [{"id": "m", "input": ["text", "image"]}],
    }
    document["agents"]["defaults"]["model"] = {"primary": f"{name}/m", "fallbacks": []}
    document["agents"]["defaults"].update(defaults)
    return document


@contextmanager
def gateway_on(
    work: Path, wire: str, **defaults: Any
) -> Iterator[tuple[RunningGateway, FakeModelAPI]]:
    """A fake upstream answering `ANSWER` and a gateway process whose default chain is that
    fake on ``wire`` (see `gateway_config`)."""
    with FakeModelAPI() as api:
        api.default = answering()
        running = start_gateway(work / "state", api)
        try:
            running.write_config(json.dumps(gateway_config(api.url, wire, **defaults)))
            yield running, api
        finally:
            running.stop()


# -- what a run returns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    argv: list[str]
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str


def run_client(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """The client, with only ``env`` for an environment (no proxy, no real key), stdin empty."""
    try:
        done = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        out = timeout.stdout or b""
        err = timeout.stderr or b""
        return Run(
            argv,
            None,
            out.decode(errors="replace") if isinstance(out, bytes) else out,
            err.decode(errors="replace") if isinstance(err, bytes) else err,
        )
    return Run(argv, done.returncode, done.stdout, done.stderr)


def seen(api: FakeModelAPI) -> list[dict[str, Any]]:
    return [asdict(s) for s in api.seen]


def base_env(work: Path) -> dict[str, str]:
    """A clean environment for a client: its own HOME and TMPDIR under ``work``."""
    home, tmp = work / "home", work / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


if __name__ == "__main__":
    sys.exit(_inside(sys.argv[1:]))


def answered(outcome: dict[str, Any], client: str, *logs: str) -> str:
    """Asserts that the client exited 0 and printed the fake's answer alone on stdout (Codex's
    `exec` and Claude's `-p` both do); returns its output, with the tails of ``logs`` (keys of
    ``outcome``), as the report for a failing assertion."""
    run = outcome["run"]
    report = "\n".join(
        [
            f"{client} exit {run['returncode']}",
            f"stdout:\n{run['stdout']}",
            f"stderr:\n{run['stderr'][-6000:]}",
            *(f"{log}:\n{outcome[log][-8000:]}" for log in logs),
        ]
    )
    assert run["returncode"] == 0, report
    assert run["stdout"].strip() == ANSWER, report
    return report


def last_user(wire: str, body: dict[str, Any]) -> Any:
    """The last user message (or input item) of an upstream body of ``wire``."""
    if wire == "openai-responses":
        items = [i for i in body["input"] if i.get("role") == "user"]
    else:
        items = [m for m in body["messages"] if m.get("role") == "user"]
    return items[-1]

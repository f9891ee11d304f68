"""A real gateway process (`clawgate gateway run --port 0`) on its own state directory, whose
models are paths on the fault-injecting fake upstream; its token made by the CLI, as a user
would. Used by the gateway tests and by bench/overhead.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from tests.fakes.model_api import FakeModelAPI

__all__ = ["RunningGateway", "config", "start_gateway"]


def config(api_url: str) -> dict[str, Any]:
    def upstream(name: str, auth: str = "none") -> dict[str, Any]:
        return {
            "api": "openai-completions",
            "baseUrl": f"{api_url}/{name}/v1",
            "auth": auth,
            "timeouts": {"connect": 2, "firstToken": 2, "idle": 2, "total": 10},
        }

    return {
        # A small body limit, so the 413 test need not send the default 32 MiB.
        "gateway": {"maxBodyBytes": 1 << 20},
        # A stream cut after content ends in an explicit error here; resuming it is tested in
        # tests/routing/test_resume.py.
        "routing": {"resume": "off"},
        "agents": {"defaults": {"model": {"primary": "up/m", "fallbacks": ["alt/m"]}}},
        "models": {
            # Tests that break an upstream use one of their own: health is shared by the
            # whole module's gateway (a circuit opened in one test stays open in the next).
            "providers": {
                **{name: upstream(name) for name in ("up", "alt", "f1", "s1", "m1", "c1", "x1")},
                "keyed": upstream("keyed", "api-key"),
            }
        },
    }


@dataclass
class RunningGateway:
    process: subprocess.Popen[str]
    url: str
    token: str
    env: dict[str, str]
    state: Path
    banner: str

    def client(self, token: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=token or self.token, max_retries=0)

    def chat(self, *models: str) -> httpx.Response:
        """A plain chat turn over ``models`` (the first, then the others as its chain)."""
        return httpx.post(
            f"{self.url}/v1/chat/completions",
            headers={"authorization": f"Bearer {self.token}"},
            json={
                "model": models[0],
                "models": list(models),
                "messages": [{"role": "user", "content": "hi"}],
            },
            timeout=30,
        )

    def records_written(self) -> None:
        """Until the gateway has committed the records of every turn it answered so far: it
        writes them behind the answers (docs/architecture.md, "The record writer"), and a
        decisions read through it waits for its writer. For a test that reads state.db (or
        the database) itself, or through the CLI, right after an answer."""
        self.decisions(1)

    def decisions(self, last: int) -> list[dict[str, Any]]:
        """The newest ``last`` decision records, read through the gateway."""
        answer = httpx.get(
            f"{self.url}/control/decisions",
            params={"last": last},
            headers={"authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        turns: list[dict[str, Any]] = answer.json()
        return turns

    def cli(self, *args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), obj=App(self.env), input=stdin)

    def write_config(self, text: str) -> None:
        (self.state / "clawgate.json").write_text(text)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()  # never left running past the test that started it
            self.process.wait()
            raise
        finally:
            assert self.process.stderr is not None
            self.process.stderr.close()
        return code


def start_gateway(
    state: Path,
    api: FakeModelAPI,
    *extra: str,
    environ: dict[str, str] | None = None,
    document: dict[str, Any] | None = None,
) -> RunningGateway:
    """A gateway process on ``state`` with the tests' config (or ``document``); ``environ``
    adds to its environment (a bench may run another checkout's clawgate through
    PYTHONPATH)."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    (state / "clawgate.json").write_text(json.dumps(document or config(api.url)))
    env = {"CLAWGATE_STATE_DIR": str(state), "PATH": os.environ.get("PATH", ""), **(environ or {})}
    token = CliRunner().invoke(cli, ["gateway", "token"], obj=App(env)).stdout.strip()
    process = subprocess.Popen(
        [sys.executable, "-m", "clawgate", "gateway", "run", "--port", "0", *extra],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    said = []  # config warnings may come first; then where it listens, once it does
    banner = ""
    while "listening on" not in banner and len(said) < 20:
        banner = process.stderr.readline()
        said.append(banner)
        if not banner:
            break
    if "listening on" not in banner:
        process.kill()
        raise RuntimeError(f"the gateway did not start: {''.join(said)}{process.stderr.read()}")
    url = banner.split("listening on ", 1)[1].split()[0]
    return RunningGateway(process, url, token, env, state, banner)


def stopped_mid_stream(gateway: RunningGateway) -> tuple[int, str, dict[str, object]]:
    """SIGTERM to ``gateway`` once a streamed answer has begun: its exit status, the text the
    caller received in all, and how the stream ended (``finish``: the reason; ``error``)."""
    received: list[str] = []
    first = threading.Event()
    outcome: dict[str, object] = {}

    def read() -> None:
        try:
            with gateway.client() as client:
                for c in client.chat.completions.create(
                    model="clawgate",
                    messages=[{"role": "user", "content": "Say hello."}],
                    stream=True,
                ):
                    if c.choices and c.choices[0].delta.content:
                        received.append(c.choices[0].delta.content)
                        first.set()
                    if c.choices and c.choices[0].finish_reason:
                        outcome["finish"] = c.choices[0].finish_reason
        except Exception as exc:  # the caller's test reports it
            outcome["error"] = exc
        first.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert first.wait(timeout=30)
    code = gateway.stop()  # while the answer is still streaming
    reader.join(timeout=30)
    return code, "".join(received), outcome

"""The real Codex CLI (npm ``@openai/codex``) against the gateway's Responses API: ``codex exec``
with a custom model provider whose ``base_url`` is the gateway (``wire_api = "responses"``),
its key the gateway token, answered by the fake upstream on each wire. All three run in a
loopback-only network namespace (see `tests.clients._harness`).

What Codex 0.171.0 sends for one ``codex exec`` turn (seen with a logging stub): exactly one
``POST <base_url>/responses``, ``Authorization: Bearer <env_key's value>``, ``Accept:
text/event-stream``, ``originator: codex_exec``, ``session-id``/``thread-id``,
``x-client-request-id``, ``x-codex-window-id``, ``x-codex-turn-metadata`` (JSON),
``x-codex-beta-features``, ``Accept-Encoding: zstd,gzip`` (the body itself uncompressed JSON).
The body: ``model``, ``stream: true``, ``store: false``, no ``instructions``; ``input`` is two
``developer`` messages (the agent's prompt, its skills), a ``user`` message with the
``<environment_context>`` and a ``user`` message with the prompt, all ``input_text`` parts;
``tools`` are eight ``function`` tools, one ``namespace`` tool (``multi_agent_v1``, with
``tools`` inside) and ``{"type": "web_search"}``; ``tool_choice: "auto"``,
``parallel_tool_calls: true``, ``reasoning: {"summary": "auto"}``,
``include: ["reasoning.encrypted_content"]``, ``prompt_cache_key`` and ``client_metadata``.
It makes no other request to the provider (no ``/models``). Left on, its plugin sync tries
``git ls-remote`` on GitHub and the GitHub API at startup; the config here turns that off
(``features.plugins``, ``remote_plugin``, ``apps``) and the namespace stops anything else.

The gateway serves function tools only, so the main test also turns off the two others
(``web_search = "disabled"``, ``features.multi_agent = false``); Codex with every tool left on
is `test_codex_exec_with_its_default_tools`.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest

from tests.clients._harness import (
    MODULES,
    WIRES,
    answered,
    base_env,
    gateway_on,
    last_user,
    node,
    require,
    run_client,
    run_isolated,
    seen,
)

pytestmark = pytest.mark.slow

PROMPT = "What is 6 times 7? Answer in one sentence."
TURN = "tests.clients.test_codex_cli:codex_turn"
CODEX = MODULES / "@openai" / "codex" / "bin" / "codex.js"

CONFIG = """\
model = "clawgate"
model_provider = "clawgate"
check_for_update_on_startup = false
{top}

[model_providers.clawgate]
name = "clawgate"
base_url = "{url}/v1"
env_key = "CLAWGATE_TOKEN"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false
{features}
"""
# Codex's tools beyond plain functions: the `multi_agent_v1` namespace tool and the hosted
# `web_search` tool. Turned off, every tool it sends is a function tool.
FUNCTIONS_ONLY = {"top": 'web_search = "disabled"', "features": "multi_agent = false"}
DEFAULT_TOOLS = {"top": "", "features": ""}


def codex_turn(work: Path, wire: str, tools: dict[str, str]) -> dict[str, Any]:
    """Runs inside the namespace: the fake on ``wire``, the gateway, one ``codex exec``."""
    with gateway_on(work, wire) as (gateway, api):
        env = base_env(work)
        codex_home = Path(env["HOME"]) / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(CONFIG.format(url=gateway.url, **tools))
        project = work / "project"
        project.mkdir(exist_ok=True)
        env |= {"CODEX_HOME": str(codex_home), "CLAWGATE_TOKEN": gateway.token}
        argv = [
            *[str(node()), str(CODEX)],
            *["exec", "--skip-git-repo-check", "--sandbox", "read-only", "--ephemeral"],
            *["--color", "never", "-C", str(project), PROMPT],
        ]
        run = run_client(argv, env, project)
        return {"run": run.__dict__, "seen": seen(api), "token": gateway.token}


@pytest.fixture(scope="module")
def codex() -> Path:
    if node() is None:
        pytest.skip("no `node` on PATH to run the Codex CLI's launcher")
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    require(MODULES / "@openai" / f"codex-linux-{arch}", "the Codex CLI's native binary")
    return require(CODEX, "the Codex CLI (npm @openai/codex)")


@pytest.mark.parametrize("wire", list(WIRES))
def test_codex_exec_answers_through_the_gateway(codex: Path, tmp_path: Path, wire: str) -> None:
    outcome = run_isolated(TURN, tmp_path, wire=wire, tools=FUNCTIONS_ONLY)
    report = answered(outcome, "codex")

    # The upstream saw exactly one model call: the turn, with the prompt as the last user text,
    # in the wire's own spelling, without the gateway token.
    _, _, path = WIRES[wire]
    calls = outcome["seen"]
    assert [(c["method"], c["path"]) for c in calls] == [("POST", path)], report
    body, headers = calls[0]["body"], calls[0]["headers"]
    assert body["model"] == "m"
    assert PROMPT in json.dumps(last_user(wire, body))
    assert outcome["token"] not in json.dumps(headers)
    # Codex's function tools reach the upstream (it offers `exec_command` on every turn).
    assert "exec_command" in json.dumps(body.get("tools", []))


def test_codex_exec_with_its_default_tools(codex: Path, tmp_path: Path) -> None:
    """Codex as a user first configures it: only the model provider, every tool left on."""
    outcome = run_isolated(TURN, tmp_path, wire="openai-completions", tools=DEFAULT_TOOLS)
    answered(outcome, "codex")

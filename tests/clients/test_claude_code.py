"""The real Claude Code (npm ``@anthropic-ai/claude-code``) against the gateway's Anthropic
Messages API: ``claude -p`` with ``ANTHROPIC_BASE_URL`` at the gateway and the gateway token as
its key, answered by the fake upstream on each wire. All three run in a loopback-only network
namespace (see `tests.clients._harness`).

What Claude Code 2.1.197 sends for one ``claude -p`` turn (seen with a logging stub): first a
``HEAD /`` (``User-Agent: Bun/...``, a connection warm-up whose status it ignores), then exactly
one ``POST /v1/messages?beta=true`` with ``x-api-key`` (or ``Authorization: Bearer`` with
``ANTHROPIC_AUTH_TOKEN``), ``anthropic-version: 2023-06-01``, ``anthropic-beta:
claude-code-20250219,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,
context-management-2025-06-27,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,
effort-2025-11-24``, ``x-app: cli``, ``User-Agent: claude-cli/<version> (external, sdk-cli)``,
``X-Claude-Code-Session-Id``, ``anthropic-dangerous-direct-browser-access: true`` and the
``X-Stainless-*`` headers. The body: ``model`` (``ANTHROPIC_MODEL``), ``stream: true``,
``max_tokens: 32000``, ``system`` as text blocks (``cache_control`` on some), ``messages``: the
``user`` turn (a ``<system-reminder>`` text block, then the prompt with ``cache_control``) and a
``role: "system"`` message after it (the mid-conversation-system beta), 24 tools
(``name``/``description``/``input_schema``), ``thinking: {"type": "adaptive"}``,
``context_management: {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}``,
``output_config: {"effort": "high"}`` and ``metadata.user_id`` (JSON text). No
``/v1/models``, no ``count_tokens``. With nonessential traffic off its debug log names no host
but the base URL.
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
    require,
    run_client,
    run_isolated,
    seen,
)

pytestmark = pytest.mark.slow

PROMPT = "What is 6 times 7? Answer in one sentence."
TURN = "tests.clients.test_claude_code:claude_turn"
# A Claude model name the gateway's config makes an alias of the fake's model. Claude Code
# shapes its request by the model's name: for claude-sonnet-4-5 it sends only user and
# assistant messages and ``thinking: {"type": "enabled", "budget_tokens": 31999}``.
ALIAS = "claude-sonnet-4-5"
PACKAGE = MODULES / "@anthropic-ai" / "claude-code"

# Claude Code's documented switches for a run that talks to nothing but the model endpoint.
QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # the four below, and more
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_COST_WARNINGS": "1",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
}


def claude_binary() -> Path | None:
    """The ``claude`` a user runs: ``bin/claude.exe`` once the package's postinstall has put
    the native binary there, else the native binary in the platform package itself."""
    installed = PACKAGE / "bin" / "claude.exe"
    if installed.exists() and installed.read_bytes()[:4] == b"\x7fELF":
        return installed
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine())
    musl = "" if platform.libc_ver()[0] == "glibc" else "-musl"
    native = MODULES / "@anthropic-ai" / f"claude-code-linux-{arch}{musl}" / "claude"
    return native if arch and native.exists() else None


def claude_turn(work: Path, wire: str, credential: str, model: str) -> dict[str, Any]:
    """Runs inside the namespace: the fake on ``wire``, the gateway, one ``claude -p`` asking
    for ``model`` (`ALIAS`, which the gateway's config names the fake's model, or "clawgate",
    the gateway's default chain)."""
    binary = claude_binary()
    assert binary is not None
    name = WIRES[wire][0]
    with gateway_on(work, wire, models={f"{name}/m": {"alias": ALIAS}}) as (gateway, api):
        env = base_env(work) | QUIET
        env |= {
            "ANTHROPIC_BASE_URL": gateway.url,
            credential: gateway.token,
            "ANTHROPIC_MODEL": model,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        }
        project = work / "project"
        project.mkdir(exist_ok=True)
        debug = work / "claude-debug.log"
        argv = [str(binary), "--debug-file", str(debug), "-p", "--output-format", "text", PROMPT]
        run = run_client(argv, env, project)
        log = debug.read_text(errors="replace") if debug.exists() else ""
        return {"run": run.__dict__, "seen": seen(api), "token": gateway.token, "debug": log}


@pytest.fixture(scope="module")
def claude() -> Path:
    require(PACKAGE, "Claude Code (npm @anthropic-ai/claude-code)")
    binary = claude_binary()
    if binary is None:
        pytest.skip(f"no native Claude Code binary for {platform.machine()} in {PACKAGE.parent}")
    return binary


@pytest.mark.parametrize(
    ("wire", "credential"),
    [
        *[(wire, "ANTHROPIC_API_KEY") for wire in WIRES],
        ("anthropic-messages", "ANTHROPIC_AUTH_TOKEN"),
    ],
)
def test_claude_p_answers_through_the_gateway(
    claude: Path, tmp_path: Path, wire: str, credential: str
) -> None:
    outcome = run_isolated(TURN, tmp_path, wire=wire, credential=credential, model=ALIAS)
    report = answered(outcome, "claude", "debug")

    # The upstream saw exactly one model call: the turn, with the prompt as the last user text,
    # in the wire's own spelling, without the gateway token.
    _, _, path = WIRES[wire]
    calls = outcome["seen"]
    assert [(c["method"], c["path"]) for c in calls] == [("POST", path)], report
    body, headers = calls[0]["body"], calls[0]["headers"]
    assert body["model"] == "m"
    assert PROMPT in json.dumps(last_user(wire, body))
    assert outcome["token"] not in json.dumps(headers)
    # Claude Code's tools reach the upstream (it offers `Bash` on every turn).
    assert "Bash" in json.dumps(body.get("tools", []))


def test_claude_p_on_the_default_chain(claude: Path, tmp_path: Path) -> None:
    """``ANTHROPIC_MODEL=clawgate``: a model name Claude Code does not know, for which it
    sends its newest request shape, with a ``role: "system"`` message after the user's."""
    outcome = run_isolated(
        TURN, tmp_path, wire="openai-completions", credential="ANTHROPIC_API_KEY", model="clawgate"
    )
    answered(outcome, "claude", "debug")
    assert len(outcome["seen"]) == 1

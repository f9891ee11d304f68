"""`models list`: the configured models with provider, context, capabilities and whether a
usable profile exists; --all adds each provider's known models, --provider filters."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.config import Paths


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App(env), input=stdin)


def rows(env: dict[str, str], *args: str) -> dict[str, dict[str, Any]]:
    listed = run(env, "models", "list", "--json", *args)
    assert listed.exit_code == 0, listed.stderr
    return {row["ref"]: row for row in json.loads(listed.stdout)["models"]}


def test_list_says_which_models_have_a_usable_credential(
    state_env: dict[str, str], paths: Paths
) -> None:
    paths.state_dir.mkdir(parents=True)
    paths.config_file.write_text(
        json.dumps(
            {
                "agents": {
                    "defaults": {
                        "model": {
                            "primary": "openai/gpt-4.1-mini",
                            "fallbacks": ["anthropic/claude-sonnet-4-5"],
                        },
                        "models": {
                            "openai/gpt-4.1-mini": {
                                "alias": "mini",
                                "params": {"contextTokens": 64000},
                            }
                        },
                    }
                }
            }
        )
    )
    added = run(
        state_env,
        "models",
        "auth",
        "add",
        "--provider",
        "openai",
        "--api-key-stdin",
        stdin="sk-x\n",
    )
    assert added.exit_code == 0, added.stderr
    found = rows(state_env)
    assert list(found) == [
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
        "local/smollm2-135m",  # the embeddings chain's default
    ]
    assert found["local/smollm2-135m"]["role"] == "embeddings"
    assert found["local/smollm2-135m"]["auth"]["needs"] == "none"
    mini = found["openai/gpt-4.1-mini"]
    assert (mini["role"], mini["alias"], mini["contextTokens"]) == ("primary", "mini", 64000)
    assert mini["auth"] == {"needs": "api_key", "usable": True, "profiles": ["openai:default"]}
    assert "tools" in mini["capabilities"]
    claude = found["anthropic/claude-sonnet-4-5"]
    assert claude["role"] == "fallback 1"
    assert claude["auth"]["usable"] is False
    assert "json_schema" not in claude["capabilities"]

    shown = run(state_env, "models", "list")
    assert "no usable token" in shown.stdout
    assert (
        "no usable credential for anthropic; fix: clawgate models auth login --provider anthropic"
        in shown.stdout
    )

    everything = rows(state_env, "--all")
    assert everything["openai/text-embedding-3-small"]["configured"] is False
    assert everything["openai-codex/gpt-5-codex"]["auth"]["usable"] is False
    only = rows(state_env, "--all", "--provider", "anthropic")
    assert {r["provider"] for r in only.values()} == {"anthropic"}


def test_status_says_the_primary_has_no_usable_profile(
    state_env: dict[str, str], paths: Paths
) -> None:
    local = run(state_env, "models", "status")
    assert "no profiles (the embedded local model needs none)" in local.stdout
    assert run(state_env, "models", "set", "openai/gpt-4.1-mini").exit_code == 0
    shown = run(state_env, "models", "status")
    assert shown.exit_code == 0, shown.stderr
    assert "no profiles: the primary openai/gpt-4.1-mini needs api key credentials" in shown.stdout
    assert "embedded local model" not in shown.stdout
    assert 'fix: echo "$KEY" | clawgate models auth add --provider openai' in shown.stdout
    # A profile of another provider is not one the primary can use.
    added = run(
        state_env, "models", "auth", "add", "--provider", "anthropic", "--api-key-stdin",
        stdin="sk-ant-api-x\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    shown = run(state_env, "models", "status")
    assert "no usable profile for the primary: the primary openai/gpt-4.1-mini" in shown.stdout

from __future__ import annotations

from pathlib import Path

import pytest

from clawgate.config import (
    DEFAULT_CONFIG_TEXT,
    DEFAULT_PRIMARY,
    ConfigError,
    load_config,
    parse_config,
)

SOURCE = Path("/etc/clawgate.json")

# The example of docs/configuration.md, minus comments: every documented key in one file.
FULL = """{
  auth: {
    profiles: { "openai-codex:me@example.com": { provider: "openai-codex", mode: "oauth",
                                                 email: "me@example.com" } },
    order: { "openai-codex": ["openai-codex:me@example.com"], anthropic: ["anthropic:manual"] },
    fallthrough: "any",
    refreshMarginSeconds: 120,
  },
  agents: { defaults: {
    model: { primary: "openai-codex/gpt-5.5",
             fallbacks: ["anthropic/claude-opus-4-7", "local/smollm2-135m"] },
    models: { "openai-codex/gpt-5.5": { alias: "gpt", params: { contextTokens: 272000 } } },
  } },
  models: { providers: {
    myollama: { api: "openai-completions", baseUrl: "http://127.0.0.1:11434/v1", auth: "none",
                models: [{ id: "llama3.2", contextWindow: 128000 }],
                timeouts: { connect: 10, firstToken: 30, idle: 30, total: 300 } },
    "work-llm": { api: "openai-completions", baseUrl: "https://llm.example.internal/v1",
                  auth: "oauth", oauth: { issuer: "https://idp.example.internal",
                  clientId: "clawgate", scopes: ["openid", "offline_access"] },
                  models: [{ id: "big-model" }] },
    local: { models: [{ id: "smollm2-135m" }, { id: "my-model", path: "/models/x.gguf" }] },
  } },
  gateway: { bind: "127.0.0.1", port: 18790 },
  channels: { telegram: { enabled: false, allowFrom: [12345, "@me"] } },
}"""


def parse(text: str, env: dict[str, str] | None = None) -> object:
    return parse_config(text, source=SOURCE, env=env or {})


def error_of(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source=SOURCE, env=env or {})
    return info.value


def test_full_example_is_typed() -> None:
    loaded = parse_config(FULL, source=SOURCE, env={})
    s = loaded.settings
    assert loaded.warnings == ()
    assert s.auth.profiles["openai-codex:me@example.com"].mode == "oauth"
    assert s.auth.order["anthropic"] == ["anthropic:manual"]
    assert s.auth.fallthrough == "any"
    assert s.auth.refresh_margin_seconds == 120
    assert s.agents.defaults.model.fallbacks[-1] == "local/smollm2-135m"
    assert s.agents.defaults.models["openai-codex/gpt-5.5"].params.context_tokens == 272000
    ollama = s.models.providers["myollama"]
    assert ollama.timeouts is not None
    assert ollama.timeouts.first_token == 30
    assert ollama.models[0].context_window == 128000
    assert s.models.providers["work-llm"].oauth is not None
    assert s.models.providers["work-llm"].oauth.client_id == "clawgate"
    assert s.models.providers["local"].models[1].path == "/models/x.gguf"
    assert s.gateway.port == 18790
    assert s.channels.telegram.allow_from == [12345, "@me"]


def test_setup_text_means_the_builtin_defaults() -> None:
    loaded = parse_config(DEFAULT_CONFIG_TEXT, source=SOURCE, env={})
    assert loaded.warnings == ()
    assert loaded.settings.agents.defaults.model.primary == DEFAULT_PRIMARY
    assert loaded.settings.gateway.bind == "127.0.0.1"


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    loaded = load_config(tmp_path / "absent.json", {})
    assert loaded.source is None
    assert loaded.settings.agents.defaults.model.primary == DEFAULT_PRIMARY


def test_empty_file_means_defaults() -> None:
    loaded = parse_config("  // nothing yet\n", source=SOURCE, env={})
    assert loaded.settings.agents.defaults.model.primary == DEFAULT_PRIMARY


def test_model_string_shorthand_names_the_primary() -> None:
    loaded = parse_config('{agents: {defaults: {model: "local/x"}}}', source=SOURCE, env={})
    assert loaded.settings.agents.defaults.model.primary == "local/x"
    assert loaded.settings.agents.defaults.model.fallbacks == []


def test_malformed_json5_names_line_and_column() -> None:
    error = error_of("{\n  gateway: { port: 1 },\n  auth: { order: [1,,] },\n}")
    assert error.message.startswith(f"{SOURCE}:3:21: not valid JSON5")
    assert "comma" in error.message
    assert error.exit_code == 78


def test_missing_comma_is_located() -> None:
    error = error_of("{\n  a: 1\n  b: 2\n}")
    assert error.message.startswith(f"{SOURCE}:3:3: not valid JSON5")


def test_unclosed_object_is_a_syntax_error() -> None:
    error = error_of("{gateway: {port: 1}")
    assert error.message.startswith(f"{SOURCE}:1:1: not valid JSON5: Unclosed object")


def test_top_level_must_be_an_object() -> None:
    error = error_of("[1, 2]")
    assert "must be an object" in error.message
    assert "found list" in error.message


def test_wrong_type_names_key_path_expected_and_found() -> None:
    error = error_of('{\n  gateway: {\n    port: "abc",\n  },\n}')
    assert f"{SOURCE}:3:5: gateway.port: expected a valid integer" in error.message
    assert 'found "abc"' in error.message


def test_every_wrong_value_is_reported_at_once() -> None:
    error = error_of(
        '{auth: {fallthrough: "sometimes", profiles: {"a:b": {mode: "oauth"}}},\n'
        " agents: {defaults: {model: {fallbacks: [1]}}}}"
    )
    assert "auth.fallthrough: expected 'same-kind', 'any' or 'none', found \"sometimes\"" in (
        error.message
    )
    assert 'auth.profiles["a:b"].provider: expected a value (it is required)' in error.message
    assert f"{SOURCE}:2:42: agents.defaults.model.fallbacks[0]: expected a valid string" in (
        error.message
    )


def test_out_of_range_port() -> None:
    error = error_of("{gateway: {port: 70000}}")
    assert "gateway.port: expected less than or equal to 65535, found 70000" in error.message


def test_unknown_keys_warn_with_path_and_suggestion() -> None:
    loaded = parse_config(
        '{\n  gateway: { prot: 1 },\n  models: { providers: { x: { baseURL: "u" } } },\n}',
        source=SOURCE,
        env={},
    )
    by_path = {w.path: w for w in loaded.warnings}
    assert set(by_path) == {"gateway.prot", "models.providers.x.baseURL"}
    assert str(by_path["models.providers.x.baseURL"]) == (
        f"{SOURCE}:3:31: models.providers.x.baseURL: unknown key (ignored); did you mean 'baseUrl'?"
    )
    assert by_path["gateway.prot"].where == f"{SOURCE}:2:14"
    assert "did you mean 'port'?" in by_path["gateway.prot"].message
    assert "did you mean 'baseUrl'?" in by_path["models.providers.x.baseURL"].message


def test_openclaw_keys_warn_and_point_at_doctor() -> None:
    loaded = parse_config(
        '{plugins: {entries: {}}, agents: {defaults: {agentRuntime: {id: "codex"}}}}',
        source=SOURCE,
        env={},
    )
    by_path = {w.path: w.message for w in loaded.warnings}
    assert set(by_path) == {"plugins", "agents.defaults.agentRuntime"}
    assert all("clawgate doctor --fix" in message for message in by_path.values())


def test_env_substitution() -> None:
    loaded = parse_config(
        '{gateway: {bind: "${HOST}"}, models: {providers: {o: {baseUrl: "http://${HOST}:${PORT}/v1",'
        ' models: [{id: "$${LITERAL}"}]}}}}',
        source=SOURCE,
        env={"HOST": "127.0.0.2", "PORT": "8080"},
    )
    s = loaded.settings
    assert s.gateway.bind == "127.0.0.2"
    assert s.models.providers["o"].base_url == "http://127.0.0.2:8080/v1"
    assert s.models.providers["o"].models[0].id == "${LITERAL}"


def test_env_substitution_feeds_validation() -> None:
    loaded = parse_config('{gateway: {port: "${PORT}"}}', source=SOURCE, env={"PORT": "9000"})
    assert loaded.settings.gateway.port == 9000
    error = error_of('{gateway: {port: "${PORT}"}}', env={"PORT": "nine"})
    assert "gateway.port: expected a valid integer" in error.message


def test_unset_env_reference_is_an_error_naming_variable_and_place() -> None:
    error = error_of('{\n gateway: {bind: "${CLAWGATE_TEST_UNSET}"}}')
    assert error.message == (
        f"{SOURCE}:2:12: gateway.bind refers to ${{CLAWGATE_TEST_UNSET}}, which is not set"
    )
    assert error.fix is not None
    assert "CLAWGATE_TEST_UNSET" in error.fix


@pytest.mark.parametrize(
    ("text", "where", "fix"),
    [
        (
            '{models: {providers: {openai: {apiKey: "plain-but-named-as-a-key"}}}}',
            "models.providers.openai.apiKey",
            "clawgate models auth add --provider openai --api-key-stdin",
        ),
        (
            '{models: {providers: {x: {baseUrl: "https://h/?k=sk-proj-abcdefghijklmnop1234"}}}}',
            "models.providers.x.baseUrl",
            "clawgate models auth add --provider x --api-key-stdin",
        ),
        (
            '{agents: {defaults: {model: {primary: "sk-ant-oat01-abcdefghijklmnop"}}}}',
            "agents.defaults.model.primary",
            "clawgate models auth paste-token --provider anthropic",
        ),
        (
            '{channels: {telegram: {botToken: "123456789:AAbbccddeeffgghhiijjkkllmmnnooppqqr"}}}',
            "channels.telegram.botToken",
            "clawgate channels telegram pair",
        ),
    ],
)
def test_secrets_are_refused_without_echoing_them(text: str, where: str, fix: str) -> None:
    error = error_of(text)
    assert where in error.message
    assert "not encrypted" in error.message
    assert error.fix is not None
    assert fix in error.fix
    secret = text.split('"')[-2]
    assert secret not in str(error)


def test_secret_check_runs_before_env_substitution() -> None:
    # A secret in the environment is not in the file; referencing it under a secret's name is
    # still refused, so that secrets reach clawgate only through the vault.
    error = error_of('{models: {providers: {o: {apiKey: "${OPENAI_API_KEY}"}}}}', env={})
    assert "models.providers.o.apiKey holds a secret" in error.message


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "clawgate.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(path) in info.value.message

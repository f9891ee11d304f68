"""`clawgate.names`: what may name a profile, a provider, a turn, a session, a secret. Every id
accepted fits the vault's files; every one refused says so in one line with the allowed form."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawgate import names
from clawgate.secret import Secret
from clawgate.vault import ApiKeyMaterial, BadProfileId
from tests.vault.helpers import open_vault

NON_UTF8 = os.fsdecode(b"openai:\xff")  # how Python passes an undecodable argv (PEP 383)

# Ids that existing users, tests, docs and OpenClaw stores have: all still valid.
VALID_TODAY = [
    "openai:default",
    "anthropic:manual",
    "openai-codex:me@example.com",
    "openai-codex:o'brien+work@example.com",
    "github-copilot:default",
    "oai-responses:default",
    "sub:me",
    "a:1",
    "work-llm:a b%c",
    "oidc:..",  # one file name ("oidc:...json"), never a path component
    "openai:café",
    "openai:" + "x" * 200,
]

HOSTILE = {
    "empty": "",
    "no-provider": "default",
    "dot-dot": "../x",
    "slash": "openai:a/b",
    "traversal": "openai:../../key",
    "backslash": "openai:a\\b",
    "nul": "openai:a\0b",
    "newline": "openai:a\nb",
    "del": "openai:a\x7fb",
    "bidi-override": "openai:a\u202eb",
    "non-utf8": NON_UTF8,
    "upper-provider": "OpenAI:x",
    "long-name": "openai:" + "x" * 201,
    "long-file-name": "openai:" + "é" * 100,  # 100 characters, 600 bytes once encoded
}


@pytest.mark.parametrize("profile_id", VALID_TODAY)
def test_ids_valid_before_stay_valid(profile_id: str) -> None:
    assert names.check_profile_id(profile_id) == profile_id


@pytest.mark.parametrize("profile_id", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_ids_are_refused_in_one_line_with_the_allowed_form(profile_id: str) -> None:
    with pytest.raises(names.BadName) as info:
        names.check_profile_id(profile_id)
    message = info.value.message
    assert "\n" not in message
    assert "\0" not in message
    assert message.isprintable()  # controls and surrogates escaped
    assert "like openai-codex:work" in message
    assert info.value.exit_code == 2


def test_a_non_utf8_id_says_so() -> None:
    with pytest.raises(names.BadName, match=r"'openai:\\udcff' \(not UTF-8\) is not a profile"):
        names.check_profile_id(NON_UTF8)


def test_a_long_id_is_shown_cut_short() -> None:
    with pytest.raises(names.BadName) as info:
        names.check_profile_id("openai:" + "x" * 10_000)
    assert len(info.value.message) < 400


@pytest.mark.parametrize("profile_id", ["clawgate:gateway", "clawgate:default", "clawgate:x"])
def test_clawgate_ids_are_reserved(profile_id: str) -> None:
    with pytest.raises(names.BadName, match="is reserved"):
        names.check_profile_id(profile_id)
    assert names.check_profile_id(profile_id, reserved_ok=True) == profile_id


def test_the_vault_reads_only_the_legacy_reserved_id(tmp_path: Path) -> None:
    vault = open_vault(tmp_path)
    assert vault.envelope_path("clawgate:gateway").name == "clawgate:gateway.json"
    with pytest.raises(BadProfileId, match="is reserved"):
        vault.envelope_path("clawgate:other")


# Any text at all; ids built like real ones, to reach the accepting side often.
_any = st.text(max_size=300)
_built = st.builds(
    lambda provider, name: f"{provider}:{name}",
    st.from_regex(names.PROVIDER_ID, fullmatch=True),
    st.text(min_size=1, max_size=260),
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_any, _built))
def test_every_accepted_id_fits_the_vaults_files_and_round_trips(profile_id: str) -> None:
    try:
        names.check_profile_id(profile_id)
    except names.BadName as exc:
        refusal = exc.message
    else:
        refusal = None
    if refusal is not None:
        assert refusal.isprintable()
        return
    with tempfile.TemporaryDirectory() as state:
        vault = open_vault(Path(state))
        provider = profile_id.partition(":")[0]
        vault.save(profile_id, provider, ApiKeyMaterial(Secret("k")))  # temp file, rename, lock
        assert vault.profile_ids() == [profile_id]
        assert vault.load(profile_id).material == ApiKeyMaterial(Secret("k"))
        assert vault.delete(profile_id)


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (names.check_provider_id, ["openai", "openai-codex", "a.b_c"], ["", "OpenAI", "-x"]),
        (names.check_turn_id, ["3f2a9c" * 5, "nope", "t:1"], ["", "a/b", "x" * 129, NON_UTF8]),
        (
            names.check_session_key,
            ["s1", "terminal:abc", "telegram:42", "my project"],
            ["", " x", "a\nb", "é", NON_UTF8, "x" * 129],
        ),
        (names.check_secret_name, ["gateway"], ["", "../key", "Gateway", "a/b"]),
    ],
)
def test_other_names(check: object, good: list[str], bad: list[str]) -> None:
    assert callable(check)
    for name in good:
        assert check(name) == name
    for name in bad:
        with pytest.raises(names.BadName) as info:
            check(name)
        assert info.value.message.isprintable()
        assert " use " in info.value.message

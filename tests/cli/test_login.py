"""`clawgate models auth login` as a person runs it: a real process, a real authorization
server, the person's side played by the test (approving the device code, or pasting the
address the browser ended on)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from clawgate.cli import App, cli
from clawgate.config import load_config
from tests.auth.helpers import env_for, vault, write_config
from tests.oidc_server import OidcServer, oidc_server


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcServer]:
    with oidc_server(DEVICE_INTERVAL="1") as server:
        yield server


def start(state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from clawgate.cli import main; main()",
            "models",
            "auth",
            "login",
            *args,
        ],
        env={**os.environ, **env_for(state)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"never printed {pattern!r}: {''.join(seen)}")


def test_device_code_login(idp: OidcServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_config(state, idp)
    process = start(state, "--provider", "myidp", "--device-code", "--set-default")
    code = read_until(process, r"\b([A-Z]{4}-[A-Z]{4})\b").group(1)
    read_until(process, "phishing")
    idp.approve_device(code)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.startswith("stored myidp:default (oauth, subscription) generation 1")
    settings = load_config(state / "clawgate.json", env_for(state)).settings
    assert settings.auth.order["myidp"] == ["myidp:default"]
    assert vault(state).load("myidp:default").status.state == "ok"


def test_browser_login_by_pasting_the_address(idp: OidcServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_config(state, idp)
    process = start(state, "--provider", "myidp", "--no-browser")
    url = read_until(process, r"^(http://\S+/auth\?\S+)$").group(1)
    with httpx.Client(timeout=10) as browser:  # on "another machine": never reaches us
        while not url.startswith("http://127.0.0.1") or "/callback" not in url:
            response = browser.get(url)
            url = str(response.url.join(response.headers["location"]))
    assert process.stdin is not None
    process.stdin.write(url + "\n")
    process.stdin.flush()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stored myidp:default (oauth" in out


def test_interrupted_login_stores_nothing(idp: OidcServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_config(state, idp)
    process = start(state, "--provider", "myidp", "--device-code")
    read_until(process, "phishing")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "nothing was stored" in err
    assert "Traceback" not in err
    assert vault(state).profile_ids() == []


def run(state: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["models", "auth", "login", *args], obj=App(env_for(state)))
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--provider", "anthropic", "--device-code"], "anthropic has no device login"),
        (["--provider", "github-copilot", "--method", "browser"], "has no browser login"),
        (["--provider", "openai"], "--api-key-stdin"),
        (["--provider", "nobody-knows"], "oauth.issuer"),
    ],
)
def test_methods_a_provider_lacks_are_refused_clearly(
    tmp_path: Path, args: list[str], says: str
) -> None:
    code, err = run(tmp_path / "state", *args)
    assert code == 2
    assert says in err
    assert "Traceback" not in err

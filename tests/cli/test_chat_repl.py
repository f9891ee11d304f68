"""The interactive `clawgate chat`, driven through a pseudo-terminal (pexpect) as a person uses
it: Ctrl-C at the prompt, Ctrl-C mid-answer, Ctrl-D, the slash commands. The upstreams are the
fakes; the chat is the real `clawgate` process."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from clawgate.config import Paths
from clawgate.state import State
from tests.fakes.holding import HoldingAPI
from tests.fakes.model_api import FakeModelAPI, chat_frames, error

PROMPT = "you>"  # prompt_toolkit moves the cursor past the space rather than print it
TIMEOUT = 30  # a process start and a turn on a shared machine; never waited out when it works


def write_config(
    paths: Paths, primary: str, providers: dict[str, str], fallbacks: tuple[str, ...] = ()
) -> None:
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "agents": {"defaults": {"model": {"primary": primary, "fallbacks": list(fallbacks)}}},
        "models": {
            "providers": {
                name: {"api": "openai-completions", "baseUrl": url}
                for name, url in providers.items()
            }
        },
    }
    paths.config_file.write_text(json.dumps(config))


@pytest.fixture
def spawn(state_env: dict[str, str]) -> Iterator[type[pexpect.spawn]]:
    children: list[pexpect.spawn] = []

    def start(*args: str) -> pexpect.spawn:
        env = {
            **state_env,
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect does not answer cursor-position requests
        }
        child = pexpect.spawn(
            sys.executable,
            ["-m", "clawgate", "chat", *args],
            env=env,
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 200),
        )
        children.append(child)
        child.expect_exact(PROMPT)
        return child

    yield start  # type: ignore[misc]
    for child in children:
        child.close(force=True)


def ended(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return child.exitstatus


@pytest.fixture
def upstream(paths: Paths, api: FakeModelAPI) -> FakeModelAPI:
    write_config(paths, "up/m", {"up": f"{api.url}/up/v1"})
    return api


def test_ctrl_c_clears_the_line_and_twice_on_an_empty_one_leaves(
    spawn: type[pexpect.spawn], upstream: FakeModelAPI
) -> None:
    child = spawn()
    child.send("half a thought")
    child.sendcontrol("c")
    child.send("Hi!\r")  # the cleared text is not sent with it
    child.expect_exact("— up/m (up:default)")
    child.expect_exact(PROMPT)
    (seen,) = upstream.paths("/up/")
    assert [m["content"] for m in seen.body["messages"]] == ["Hi!"]
    child.sendcontrol("c")
    child.expect_exact("Ctrl-C again or Ctrl-D to leave")
    child.sendcontrol("c")
    assert ended(child) == 0


def test_ctrl_d_leaves_with_success(spawn: type[pexpect.spawn], upstream: FakeModelAPI) -> None:
    child = spawn()
    child.sendcontrol("d")
    assert ended(child) == 0
    assert upstream.seen == []


def test_slash_commands_are_answered_here_never_sent(
    spawn: type[pexpect.spawn], upstream: FakeModelAPI, paths: Paths
) -> None:
    child = spawn("--session", "s1")
    child.send("/help\r")
    for command in ("/help", "/new", "/model [REF]", "/status", "/retry", "/exit"):
        child.expect_exact(command)
    child.expect_exact(PROMPT)
    child.send("/model\r")
    child.expect_exact("chain up/m")
    child.send("/model up/other\r")
    child.expect_exact("pinned to up/other")
    child.send("/model nope\r")
    child.expect_exact("not a model")
    child.send("/status\r")
    child.expect_exact("Would answer: up/other (up:default, free)")
    child.send("/bogus\r")
    child.expect_exact("unknown command /bogus")
    child.send("Remember me.\r")
    child.expect_exact("— up/other (up:default)")
    child.send("/new\r")
    child.expect_exact("fresh start")
    child.send("Who am I?\r")
    child.expect_exact("— up/other (up:default)")
    child.send("/retry\r")
    child.expect_exact("retrying: Who am I?")
    child.expect_exact("— up/other (up:default)")
    child.send("//etc is a folder\r")
    child.expect_exact("— up/other")
    child.send("/exit\r")
    assert ended(child) == 0

    sent = [[m["content"] for m in s.body["messages"]] for s in upstream.paths("/up/")]
    assert all(s.body["model"] == "other" for s in upstream.paths("/up/"))
    # /new left the first exchange behind; /retry asked again in the new conversation.
    assert sent == [
        ["Remember me."],
        ["Who am I?"],
        ["Who am I?", "Hello there", "Who am I?"],
        ["Who am I?", "Hello there", "Who am I?", "Hello there", "/etc is a folder"],
    ]
    with contextlib.closing(State.open(paths.state_db)) as state:
        assert [m.content for m in state.sessions.history("s1")] == [
            "Remember me.",
            "Hello there",
        ]


def test_ctrl_c_mid_answer_cancels_that_turn_only(
    spawn: type[pexpect.spawn], paths: Paths, api: FakeModelAPI
) -> None:
    with HoldingAPI(frames=chat_frames().first(1)) as slow:
        write_config(paths, "slow/m", {"slow": f"{slow.url}/v1", "up": f"{api.url}/up/v1"})
        child = spawn("--session", "s2")
        child.send("Tell me a long story.\r")
        child.expect_exact("asking slow/m")  # the spinner, until the first token
        child.expect_exact("Hel")  # the first token is shown; the rest never comes
        assert slow.arrived.wait(TIMEOUT)
        child.sendintr()
        child.expect_exact("interrupted")
        child.expect_exact(PROMPT)
        assert slow.hung_up.wait(TIMEOUT), "the upstream request was not closed"

        child.send("/model up/m\r")
        child.expect_exact("pinned to up/m")
        child.send("Go on.\r")
        child.expect_exact("— up/m (up:default)")
        child.expect_exact(PROMPT)
        child.sendcontrol("d")
        assert ended(child) == 0

    (seen,) = api.paths("/up/")
    assert [(m["role"], m["content"]) for m in seen.body["messages"]] == [
        ("user", "Tell me a long story."),
        ("assistant", "Hel [interrupted]"),
        ("user", "Go on."),
    ]
    with contextlib.closing(State.open(paths.state_db)) as state:
        outcomes = state.conn.execute("SELECT outcome FROM turns ORDER BY started_at").fetchall()
    assert [r[0] for r in outcomes] == ["client_gone", "succeeded"]


def test_history_is_private(
    spawn: type[pexpect.spawn], upstream: FakeModelAPI, paths: Paths
) -> None:
    child = spawn()
    child.send("/status\r")
    child.expect_exact("Would answer")
    child.expect_exact(PROMPT)  # keys typed ahead go to the terminal's line editor, not ours
    child.sendcontrol("d")
    assert ended(child) == 0
    history = Path(paths.state_dir / "chat_history")
    assert "/status" in history.read_text()
    assert history.stat().st_mode & 0o777 == 0o600


def test_the_spinner_names_the_model_that_took_over(
    spawn: type[pexpect.spawn], paths: Paths, api: FakeModelAPI
) -> None:
    providers = {"down": f"{api.url}/down/v1", "up": f"{api.url}/up/v1"}
    write_config(paths, "down/m", providers, fallbacks=("up/m",))
    api.script(
        error(404, {"error": {"message": "no such model", "code": "model_not_found"}}),
        path="/down/",
    )
    child = spawn()
    child.send("Hi!\r")
    child.expect_exact("asking down/m")
    child.expect_exact("up/m took over")
    child.expect_exact("Hello there")
    child.expect_exact("— up/m (up:default), fallback after down/m")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    assert ended(child) == 0

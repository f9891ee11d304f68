"""The Telegram channel end to end: a real `clawgate gateway run` process polling the Bot
API emulator with python-telegram-bot, turns answered by the fake upstream; the test plays
the people in the chats (`emulator.Emulator`)."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.channels.conftest import OWNER
from tests.channels.emulator import Emulator, wait_for
from tests.fakes.model_api import OPENAI, SILENT, FakeModelAPI, chat_frames, stream
from tests.gateway.running import RunningGateway, start_gateway

Start = Callable[..., tuple[RunningGateway, str]]


def answers(tg: Emulator, token: str, chat: int, text: str) -> list[dict[str, Any]]:
    return [m for m in tg.chat(token, chat) if text in m["shown"]]


def finals(tg: Emulator, token: str, chat: int, text: str) -> list[dict[str, Any]]:
    """Messages with ``text`` in their final, rendered form (a draft is plain text)."""
    return [m for m in answers(tg, token, chat, text) if m["parse_mode"] == "HTML"]


def live(gateway: RunningGateway) -> dict[str, Any]:
    result = gateway.cli("channels", "telegram", "status", "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.output)["gateway"]
    return found


def upstream_turns(api: FakeModelAPI) -> list[Any]:
    return [s for s in api.seen if s.path.endswith("/chat/completions")]


# Who may talk ---------------------------------------------------------------------------


def test_a_stranger_gets_one_pairing_code_and_no_model_call(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway(owner=None)
    stranger = 2002
    tg.says(token, stranger, "hi, who are you?")
    offered = wait_for(lambda: tg.shown(token, stranger), what="the pairing message")
    code = re.search(r"pair ([A-Z2-9]{8})\b", offered[0])
    assert code is not None, offered
    tg.says(token, stranger, "hello? anyone?")  # an open code: no second message
    tg.says(token, OWNER, "me too")  # another stranger gets their own
    wait_for(lambda: tg.shown(token, OWNER), what="the second stranger's code")
    assert len(tg.shown(token, stranger)) == 1
    assert upstream_turns(api) == []

    paired = gateway.cli("channels", "telegram", "pair", code.group(1).lower())
    assert paired.exit_code == 0, paired.output
    assert f"paired User{stranger} ({stranger}) as owner" in paired.output
    tg.says(token, stranger, "now?")
    wait_for(lambda: answers(tg, token, stranger, "Hello there"), what="an answer")
    assert len(upstream_turns(api)) == 1

    again = gateway.cli("channels", "telegram", "pair", code.group(1))
    assert again.exit_code == 2
    assert "was used already" in again.output
    assert "Traceback" not in again.output
    unknown = gateway.cli("channels", "telegram", "pair", "ZZZZZZZZ")
    assert unknown.exit_code == 2
    assert "no pairing code" in unknown.output
    listed = gateway.cli("channels", "telegram", "list")
    assert f"{stranger}  owner" in listed.output
    assert "pending" in listed.output  # OWNER's open code


def test_groups_answer_only_allowed_ones_when_mentioned(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    allowed, other = -5001, -5002
    assert gateway.cli("channels", "telegram", "allow", str(allowed)).exit_code == 0
    group = {"chat_type": "supergroup"}
    tg.says(token, 3003, "just chatting", chat=allowed, **group)
    tg.says(token, 3003, "@TestNameBot hi there", chat=other, **group)
    mention = "@TestNameBot what is up"
    tg.says(
        token,
        3003,
        mention,
        chat=allowed,
        entities=[{"type": "mention", "offset": 0, "length": 12}],
        **group,
    )
    replies = wait_for(lambda: answers(tg, token, allowed, "Hello there"), what="a group reply")
    assert len(replies) == 1
    assert replies[0]["reply_to"] is not None  # a reply to the message that asked
    tg.says(token, OWNER, "and me")  # the queue moved past the ignored updates
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the owner's answer")
    assert tg.chat(token, other) == []
    assert len(upstream_turns(api)) == 2


def test_a_denied_user_is_ignored(telegram_gateway: Start, tg: Emulator, api: FakeModelAPI) -> None:
    gateway, token = telegram_gateway()
    assert gateway.cli("channels", "telegram", "deny", "4004").exit_code == 0
    tg.says(token, 4004, "let me in")
    tg.says(token, OWNER, "ping")
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the owner's answer")
    assert tg.chat(token, 4004) == []
    assert len(upstream_turns(api)) == 1


# Answers ----------------------------------------------------------------------------------


def test_the_answer_streams_as_a_draft_then_the_rendered_text(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    text = ("Use **care** with a < b & c > d:", "\n\n```py\nif a < b:\n    pass\n```")
    api.script(stream(chat_frames(text).all()))
    tg.says(token, OWNER, "show me")
    final = wait_for(
        lambda: [m for m in tg.chat(token, OWNER) if m["parse_mode"] == "HTML"], what="final"
    )
    assert len(tg.chat(token, OWNER)) == 1  # the draft became the answer
    assert final[0]["text"] == (
        "Use <b>care</b> with a &lt; b &amp; c &gt; d:\n\n"
        '<pre><code class="language-py">if a &lt; b:\n    pass</code></pre>'
    )
    assert final[0]["edits"][0]["parse_mode"] is None  # the draft, plain
    assert "footer" not in final[0]["shown"]
    assert "—" not in final[0]["shown"]


def test_a_9000_character_answer_arrives_split_each_part_once(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 75 for i in range(12)]
    answer = "\n\n".join(p.strip() for p in paragraphs)
    assert len(answer) > 9000
    api.script(
        stream(chat_frames(tuple(answer[i : i + 500] for i in range(0, len(answer), 500))).all())
    )
    tg.says(token, OWNER, "long please")
    parts = wait_for(
        lambda: (lambda ms: ms if len(ms) >= 3 and "Paragraph 11" in ms[-1]["shown"] else None)(
            tg.chat(token, OWNER)
        ),
        what="every part",
    )
    tg.says(token, OWNER, "thanks")  # answered after the split one: nothing more came from it
    wait_for(lambda: len(tg.chat(token, OWNER)) > len(parts), what="the next answer")
    parts = tg.chat(token, OWNER)[: len(parts)]
    assert all(len(p["shown"]) <= 4096 for p in parts)
    assert "\n\n".join(p["shown"] for p in parts) == answer
    for i in range(12):
        assert sum(f"Paragraph {i}:" in p["shown"] for p in parts) == 1


def test_a_reply_refused_for_its_formatting_arrives_as_plain_text(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    tg.fault(token, "editMessageText", "entities")
    api.script(stream(chat_frames(("**Bold** claim", " and _more_")).all()))
    tg.says(token, OWNER, "format it")
    wait_for(lambda: answers(tg, token, OWNER, "Bold claim and more"), what="the plain answer")
    (message,) = tg.chat(token, OWNER)
    assert message["parse_mode"] is None
    assert message["text"] == "Bold claim and more"


def test_a_fallback_answer_names_model_and_reason(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    api.script(OPENAI["rate_limit"], path="/up/")
    tg.says(token, OWNER, "anyone there?")
    (message,) = wait_for(lambda: finals(tg, token, OWNER, "Hello there"), what="answer")
    footer = message["shown"].splitlines()[-1]
    assert re.fullmatch(r"— alt/m \(alt:default\); up/m rate limited until \d\d:\d\d", footer)
    assert "<i>— alt/m" in message["text"]


def test_telegram_429_delays_the_reply_and_does_not_drop_it(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    tg.fault(token, "sendMessage", "429", count=2, retryAfter=1)
    tg.says(token, OWNER, "hurry")
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the answer")
    sent = tg.calls(token)["sendMessage"]
    assert len(sent) == 3  # the draft (refused, skipped), the answer refused, sent again
    assert sent[2] - sent[1] >= 1000  # retry_after honoured (the emulator's clock, in ms)
    assert len(tg.chat(token, OWNER)) == 1
    assert live(gateway)["floodWaits"] == 1


def test_a_409_conflict_stops_polling_and_says_so(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    wait_for(lambda: live(gateway).get("state") == "connected", what="connected")
    tg.fault(token, "getUpdates", "409")
    status = wait_for(lambda: (s := live(gateway))["state"] == "conflict" and s, what="conflict")
    assert "409" in status["detail"]
    assert "clawgate gateway restart" in status["fix"]
    polls = len(tg.calls(token)["getUpdates"])
    tg.says(token, OWNER, "hello?")
    for _ in range(5):  # the gateway is alive and answers; the poller stays stopped
        assert live(gateway)["state"] == "conflict"
    assert len(tg.calls(token)["getUpdates"]) == polls
    text = gateway.cli("channels", "telegram", "status").output
    assert "conflict" in text
    assert "fix: " in text


def test_a_dead_login_tells_the_owner_once_with_the_fix(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway(model={"primary": "keyed/m", "fallbacks": ["alt/m"]})
    added = gateway.cli(
        "models",
        "auth",
        "add",
        "--provider",
        "keyed",
        "--api-key-stdin",
        stdin="sk-test-1234567890abcdef",
    )
    assert added.exit_code == 0, added.output
    api.script(OPENAI["unauthorized"], OPENAI["unauthorized"], path="/keyed/")
    for n in range(3):
        tg.says(token, OWNER, f"question {n}")
        wait_for(lambda n=n: len(answers(tg, token, OWNER, "Hello there")) > n, what=f"answer {n}")
    fix = "clawgate models auth add --provider keyed --api-key-stdin"
    told = [m for m in tg.shown(token, OWNER) if fix in m]
    assert len(told) == 1, tg.shown(token, OWNER)
    assert told[0].startswith("keyed:default needs a new login")


# Commands -------------------------------------------------------------------------------


def test_model_new_and_status_commands(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()

    def say(text: str, expect: str) -> str:
        """Say ``text``; the new message that says ``expect``."""
        before = len(answers(tg, token, OWNER, expect))
        tg.says(token, OWNER, text)
        found = wait_for(
            lambda: (lambda ms: ms if len(ms) > before else None)(
                answers(tg, token, OWNER, expect)
            ),
            what=expect,
        )
        return str(found[-1]["shown"])

    assert "chain up/m → alt/m" in say("/model", "This chat")
    assert "not in the config" in say("/model nope/x", "nope/x")
    assert "Pinned this chat to alt/m" in say("/model alt/m", "Pinned")
    say("first", "Hello there")
    assert upstream_turns(api)[-1].path.startswith("/alt/")
    assert "Would answer: alt/m (alt:default" in say("/status", "Would answer")
    say("second", "Hello there")
    assert len(upstream_turns(api)[-1].body["messages"]) == 3  # first, its answer, second
    say("/new", "Fresh start")
    tg.says(token, OWNER, "third")
    wait_for(lambda: len(upstream_turns(api)) == 3, what="the third turn")
    assert len(upstream_turns(api)[-1].body["messages"]) == 1
    assert "Unpinned" in say("/model default", "Unpinned")
    assert "/stop" in say("/help", "/new")


def test_stop_cancels_the_running_turn(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    slow = replace(stream(chat_frames(tuple(f"word{i} " for i in range(200))).all()), pace=0.05)
    api.script(slow)
    tg.says(token, OWNER, "tell me a long story")
    wait_for(lambda: answers(tg, token, OWNER, "word0"), what="the draft")
    tg.says(token, OWNER, "/stop")
    wait_for(lambda: answers(tg, token, OWNER, "Stopped."), what="Stopped.")
    tg.says(token, OWNER, "/status")
    wait_for(lambda: answers(tg, token, OWNER, "Would answer"), what="status")
    assert not answers(tg, token, OWNER, "word199")
    assert live(gateway)["running"] == 0


def test_other_media_get_a_short_reply(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    tg.says(token, OWNER, "", voice={"file_id": "v1", "file_unique_id": "v1", "duration": 2})
    wait_for(lambda: answers(tg, token, OWNER, "cannot read a voice message"), what="reply")
    assert upstream_turns(api) == []


# Restarts and robustness --------------------------------------------------------------------


@pytest.mark.slow
def test_a_restart_answers_each_update_exactly_once(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    tg.says(token, OWNER, "one")
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the first answer")
    assert gateway.stop() == 0
    tg.says(token, OWNER, "two")  # while no gateway runs
    again = start_gateway(gateway.state, api, document=_document_of(gateway))
    try:
        wait_for(lambda: len(answers(tg, token, OWNER, "Hello there")) == 2, what="two")
        # A turn in flight when the process dies (SIGKILL): stored, not answered.
        api.script(SILENT, path="/up/")
        tg.says(token, OWNER, "three")
        wait_for(lambda: len(upstream_turns(api)) >= 3, what="the third turn to start")
        again.process.send_signal(signal.SIGKILL)
        again.process.wait()
        assert again.process.stderr is not None
        again.process.stderr.close()
    finally:
        if again.process.poll() is None:
            again.stop()
    third = start_gateway(gateway.state, api, document=_document_of(gateway))
    try:
        wait_for(lambda: len(answers(tg, token, OWNER, "Hello there")) == 3, what="three")
        tg.says(token, OWNER, "four")
        wait_for(lambda: len(answers(tg, token, OWNER, "Hello there")) == 4, what="four")
    finally:
        assert third.stop() == 0
    asked = [s.body["messages"][-1]["content"] for s in upstream_turns(api)]
    assert asked == ["one", "two", "three", "three", "four"]  # "three" again after the kill
    assert len(tg.chat(token, OWNER)) == 4
    stderr = third.process.stderr
    assert stderr is None or stderr.closed


def _document_of(gateway: RunningGateway) -> dict[str, Any]:
    text = (gateway.state / "clawgate.json").read_text()
    body = text.split("\n", 2)[2] if text.startswith("//") else text
    document: dict[str, Any] = json.loads(body)
    return document


def test_malformed_updates_are_skipped(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    tg.raw_update(token, {"text": "no chat, no sender, no date"})
    tg.says(token, OWNER, "still fine?")
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the answer")
    assert live(gateway)["state"] == "connected"
    assert gateway.process.poll() is None


def test_the_token_never_shows(telegram_gateway: Start, tg: Emulator, api: FakeModelAPI) -> None:
    gateway, token = telegram_gateway()
    tg.says(token, OWNER, "hi")
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the answer")
    status = gateway.cli("channels", "telegram", "status", "--json").output
    listed = gateway.cli("models", "auth", "list").output
    config = (gateway.state / "clawgate.json").read_text()
    gateway.stop()
    assert gateway.process.stderr is not None
    for text in (status, listed, config):
        assert token not in text
    assert token.split(":")[1] not in listed


def test_a_photo_goes_to_a_model_that_sees_as_an_image_part(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway(model={"primary": "x1/blind", "fallbacks": ["up/m"]})
    document = _document_of(gateway)
    document["models"]["providers"]["x1"]["models"] = [{"id": "blind", "input": ["text"]}]
    document["models"]["providers"]["up"]["models"] = [{"id": "m", "input": ["text", "image"]}]
    gateway.write_config(json.dumps(document))
    assert gateway.cli("gateway", "status").exit_code == 0  # a request reloads the config
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    tg.add_file(token, "photo-1", png, "photos/file_1.jpg")
    size = {"file_unique_id": "u1", "width": 90, "height": 90}
    tg.says(
        token,
        OWNER,
        "",
        caption="what is this?",
        photo=[{"file_id": "small", **size}, {"file_id": "photo-1", **size}],
    )
    wait_for(lambda: answers(tg, token, OWNER, "Hello there"), what="the answer")
    (turn,) = upstream_turns(api)
    assert turn.path.startswith("/up/")  # the blind model was skipped
    content = turn.body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,iVBORw0KGgo")


def test_usage_counts_this_chats_tokens(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    _gateway, token = telegram_gateway()
    for n in range(2):
        tg.says(token, OWNER, f"q{n}")
        wait_for(lambda n=n: len(finals(tg, token, OWNER, "Hello there")) > n, what="answer")
    tg.says(token, OWNER, "/usage")
    (usage,) = wait_for(lambda: answers(tg, token, OWNER, "This chat:"), what="/usage")
    assert usage["shown"] == "This chat: 2 answers, 24 tokens in, 6 out."


def test_a_config_change_applies_live(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    document = _document_of(gateway)
    document["channels"]["telegram"]["footer"] = "always"
    gateway.write_config(json.dumps(document))
    tg.says(token, OWNER, "who answers?")  # the poller notices the new file itself
    (message,) = wait_for(lambda: finals(tg, token, OWNER, "Hello there"), what="answer")
    assert message["shown"].endswith("— up/m (up:default)")
    document["channels"]["telegram"]["enabled"] = False
    gateway.write_config(json.dumps(document))
    wait_for(lambda: live(gateway).get("state") == "disabled", what="the channel to stop")
    shown = gateway.cli("gateway", "status").output
    assert "telegram: " not in shown


def test_status_commands_show_the_channel(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, _token = telegram_gateway()
    wait_for(lambda: live(gateway).get("state") == "connected", what="connected")
    assert "telegram: connected (@TestNameBot)" in gateway.cli("gateway", "status").output
    models = gateway.cli("models", "status", "--json")
    assert json.loads(models.output)["gateway"]["telegram"]["state"] == "connected"


@pytest.mark.slow
def test_sigterm_lets_a_running_turn_finish(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    parts = tuple(f"w{i} " for i in range(30))
    api.script(replace(stream(chat_frames(parts).all()), pace=0.05))
    tg.says(token, OWNER, "take your time")
    wait_for(lambda: answers(tg, token, OWNER, "w0"), what="the draft")
    assert gateway.stop() == 0
    (message,) = tg.chat(token, OWNER)
    assert message["shown"].strip() == "".join(parts).strip()
    assert message["parse_mode"] == "HTML"  # the final text, not a draft cut short


def test_webhook_mode_takes_updates_with_telegrams_secret_only(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    url = f"{gateway.url}/channels/telegram/webhook"
    document = _document_of(gateway)
    document["channels"]["telegram"].update(mode="webhook", webhook={"url": url})
    gateway.write_config(json.dumps(document))
    assert gateway.cli("gateway", "status").exit_code == 0  # a request reloads the config
    wait_for(lambda: tg.webhook(token)["hook"], what="setWebhook")
    assert tg.webhook(token)["hook"] == {"url": url, "hasSecret": True}
    status = wait_for(lambda: (s := live(gateway))["state"] == "connected" and s, what="up")
    assert status["mode"] == "webhook"

    tg.says(token, OWNER, "pushed to you")
    wait_for(lambda: finals(tg, token, OWNER, "Hello there"), what="the answer")
    assert [d["status"] for d in tg.webhook(token)["deliveries"]] == [200]
    update = {"update_id": 999, "message": {"message_id": 1, "date": 1, "text": "forged"}}
    forged = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    anonymous = httpx.post(url, json=update)
    assert (forged.status_code, anonymous.status_code) == (401, 401)
    assert len(upstream_turns(api)) == 1


def test_the_bot_token_is_a_profile_that_is_never_probed(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, _ = telegram_gateway()
    listed = json.loads(gateway.cli("models", "auth", "list", "--json").output)
    assert "telegram:default" in [p["profile"] for p in listed["profiles"]]
    probed = gateway.cli("models", "status", "--probe", "--json")
    report = json.loads(probed.output)
    probes = report["probe"]["results"]
    assert probes  # the model profiles were probed
    assert [p["profile"] for p in probes if p["profile"].startswith("telegram")] == []
    assert not [a for a in report["attention"] if "telegram" in a]


def test_a_slow_turn_does_not_hold_up_other_chats(
    telegram_gateway: Start, tg: Emulator, api: FakeModelAPI
) -> None:
    gateway, token = telegram_gateway()
    other = 1002
    assert gateway.cli("channels", "telegram", "allow", str(other)).exit_code == 0
    slow = replace(stream(chat_frames(tuple(f"s{i} " for i in range(60))).all()), pace=0.05)
    api.script(slow)
    tg.says(token, OWNER, "take your time")
    wait_for(lambda: answers(tg, token, OWNER, "s0"), what="the slow draft")
    tg.says(token, other, "quick one")
    wait_for(lambda: finals(tg, token, other, "Hello there"), what="the other chat's answer")
    assert not finals(tg, token, OWNER, "s59")  # still being written
    wait_for(lambda: finals(tg, token, OWNER, "s59"), what="the slow answer")

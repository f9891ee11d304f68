"""Many streams held open through the gateway at once: ``--streams`` clients (1,000 by
default) each ask for a streamed answer that the upstream paces (one delta every
``--interval`` seconds, ``--events`` of them), all open together.

    .venv/bin/python bench/streams.py [--streams 1000] [--events 20] [--interval 0.5]

Prints the errors (a stream that failed or ended short), the gateway's peak RSS while the
streams were open, and the relay cost: the gateway's CPU time (user + system, /proc) over the
run divided by the deltas it relayed. The upstream is a paced static responder in its own
process (bench/overhead.py's, with pacing); the clients are raw sockets in this one. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from overhead import BODY, bench_config, tree_cpu_seconds, tree_rss_mib  # type: ignore[import-not-found]
from tests.gateway.running import start_gateway


def serve_paced(events: int, interval: float) -> None:
    """A chunked SSE stream, one chat delta every ``interval`` seconds, for any request."""
    base = {"id": "chatcmpl-bench", "created": 1741569952, "model": "m"}

    def frame(delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        chunk = {**base, "object": "chat.completion.chunk", "choices": [choice]}
        raw = f"data: {json.dumps(chunk)}\n\n".encode()
        return b"%x\r\n%s\r\n" % (len(raw), raw)

    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    done = b"data: [DONE]\n\n"
    tail = b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                headers = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"content-length:\s*(\d+)", headers.lower())
                await reader.readexactly(int(match.group(1)) if match else 0)
                writer.write(head + frame({"role": "assistant", "content": ""}))
                for _ in range(events):
                    await asyncio.sleep(interval)
                    writer.write(frame({"content": "tok "}))
                writer.write(frame({}, "stop") + tail)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def run() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(run())


async def one_stream(url: str, token: str) -> int:
    """The deltas one client received; raises when the stream fails or ends short."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    data = json.dumps({**BODY, "stream": True}).encode()
    writer.write(
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n".encode()
        + data
    )
    received = b""
    try:
        while not received.endswith(b"0\r\n\r\n"):
            chunk = await reader.read(65536)
            if not chunk:
                break
            received += chunk
    finally:
        writer.close()
    if not received.startswith(b"HTTP/1.1 200") or b"[DONE]" not in received:
        raise RuntimeError(received[:200].decode(errors="replace"))
    return len(re.findall(rb'"content":\s*"tok ', received))


async def hold(url: str, token: str, pid: int, streams: int) -> tuple[list[Any], float]:
    peak = 0.0
    tasks: list[asyncio.Task[int]] = []
    while len(tasks) < streams:  # connect in waves: the gateway's listen backlog is 128
        wave = min(100, streams - len(tasks))
        tasks += [asyncio.create_task(one_stream(url, token)) for _ in range(wave)]
        await asyncio.sleep(0.05)
    pending: set[asyncio.Task[int]] = set(tasks)
    while pending:
        _, pending = await asyncio.wait(pending, timeout=0.5)
        peak = max(peak, tree_rss_mib(pid))
    return await asyncio.gather(*tasks, return_exceptions=True), peak


def main(args: argparse.Namespace) -> None:
    upstream = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-upstream",
            "--events",
            str(args.events),
            "--interval",
            str(args.interval),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert upstream.stdout is not None
        up_url = f"http://127.0.0.1:{int(upstream.stdout.readline())}"
        with tempfile.TemporaryDirectory() as tmp:
            running = start_gateway(
                Path(tmp) / "state", cast(Any, None), document=bench_config(up_url)
            )
            try:
                pid = running.process.pid
                idle = tree_rss_mib(pid)
                cpu, start = tree_cpu_seconds(pid), time.perf_counter()
                results, peak = asyncio.run(hold(running.url, running.token, pid, args.streams))
                cpu, wall = tree_cpu_seconds(pid) - cpu, time.perf_counter() - start
            finally:
                running.stop()
    finally:
        upstream.kill()
        upstream.wait()
    errors = [r for r in results if isinstance(r, BaseException)]
    short = [r for r in results if isinstance(r, int) and r != args.events]
    relayed = sum(r for r in results if isinstance(r, int))
    print(
        f"{args.streams} streams held at once, {args.events} deltas each, one every "
        f"{args.interval:g} s; {wall:.1f} s in all"
    )
    print(f"errors: {len(errors)}, ended short: {len(short)}")
    if errors:
        print(f"  first error: {errors[0]!r}")
    print(f"gateway RSS (MiB): idle {idle:.1f}, peak with the streams open {peak:.1f}")
    print(
        f"gateway CPU: {cpu:.2f} s for {relayed} deltas relayed: "
        f"{cpu / max(relayed, 1) * 1e6:.0f} µs a delta (turn set-up included)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20, help="deltas per stream")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between deltas")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_paced(args.events, args.interval)
    else:
        main(args)

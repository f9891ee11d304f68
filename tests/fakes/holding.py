"""An upstream that takes a request and holds its answer until the client hangs up: a model
that is very slow to answer, and a way to see that a request nobody waits for any more is
closed.

It speaks raw HTTP/1.1 on a loopback socket. Each request is read whole (headers and
``Content-Length`` body) and kept (`seen`); then, optionally, the head of a streamed answer
and its first frames are sent (`HoldingAPI(frames=...)`), and then nothing more. `arrived` is
set when a request is in (and its frames are out), `hung_up` when its client closed the
connection: thread events, since the fake serves from its own threads.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

__all__ = ["HoldingAPI"]


class HoldingAPI:
    def __init__(self, frames: list[bytes] | None = None) -> None:
        self.frames = frames  # sent as a chunked event stream before holding, when given
        self.seen: list[tuple[str, Any]] = []  # (path, JSON body) of each request
        self.arrived = threading.Event()
        self.hung_up = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> HoldingAPI:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        self._listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(conn)
            self._spawn(self._hold, conn)

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.seen.append(_read(conn))
                if self.frames is not None:
                    head = (
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                        "transfer-encoding: chunked\r\n\r\n"
                    )
                    conn.sendall(head.encode())
                    for frame in self.frames:
                        conn.sendall(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.arrived.set()
                while conn.recv(4096):  # nothing is answered; the client may only go away
                    pass
            except OSError:
                pass  # a reset is a hang-up too
            self.hung_up.set()


def _read(conn: socket.socket) -> tuple[str, Any]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("the client left before its request was whole")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    path = request_line.split(" ")[1]
    return path, json.loads(body) if body else None

"""A fake of the model APIs that cannot run here: api.openai.com (Chat Completions and
Responses), chatgpt.com's subscription backend (``/backend-api/codex/responses``,
``/backend-api/wham/usage``), api.anthropic.com (Messages) and api.githubcopilot.com.

It speaks raw HTTP/1.1 on a loopback socket so that it can also fail the ways networks do:
reset the connection before the headers, never answer, cut a chunked stream short (no final
chunk), or stall in the middle of one. Success answers are each provider's documented stream
(or JSON body when the request says ``"stream": false``); error answers are their documented
bodies and headers, in `OPENAI`, `CODEX`, `ANTHROPIC` and `COPILOT`.

Tests queue `Reply`s with `FakeModelAPI.script`; with none queued, each path answers a
success. Every request is recorded (`seen`) with its headers and JSON body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.openai_auth import REFUSALS

PARTS = ("Hel", "lo", " there")

# -- SSE frames ----------------------------------------------------------------------------


def sse(data: object, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


MALFORMED = b'data: {"choices": [{"delta": {"content": "unterminated\n\n'


@dataclass(frozen=True)
class Frames:
    """A documented success stream, in three parts: opening events, one event per text
    delta, and the closing events (finish reason, usage, terminal marker)."""

    start: tuple[bytes, ...]
    deltas: tuple[bytes, ...]
    end: tuple[bytes, ...]
    terminal: int = 1  # how many of the last `end` frames are the terminal marker

    def all(self) -> list[bytes]:
        return [*self.start, *self.deltas, *self.end]

    def first(self, deltas: int) -> list[bytes]:
        """The opening and the first ``deltas`` text events: a stream broken off there."""
        return [*self.start, *self.deltas[:deltas]]

    def without_terminal(self) -> list[bytes]:
        """Complete (finish reason, usage) but without the end marker (``[DONE]``,
        ``message_stop``)."""
        return [*self.start, *self.deltas, *self.end[: len(self.end) - self.terminal]]

    def with_malformed(self) -> list[bytes]:
        """One event that is not JSON, between the first and second deltas."""
        return [*self.start, *self.deltas[:1], MALFORMED, *self.deltas[1:], *self.end]


def chat_frames(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "gpt-4.1-mini-2025-04-14",
    usage: tuple[int, int] = (12, 3),
    finish: str = "stop",
) -> Frames:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return sse(
            {
                "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
                "object": "chat.completion.chunk",
                "created": 1741569952,
                "model": model,
                "system_fingerprint": "fp_3a668b2eb1",
                "choices": [choice],
            }
        )

    usage_chunk = sse(
        {
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion.chunk",
            "created": 1741569952,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        }
    )
    return Frames(
        start=(chunk({"role": "assistant", "content": "", "refusal": None}),),
        deltas=tuple(chunk({"content": p}) for p in parts),
        end=(chunk({}, finish), usage_chunk, sse("[DONE]")),
    )


def chat_json(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "gpt-4.1-mini-2025-04-14",
    usage: tuple[int, int] = (12, 3),
    finish: str = "stop",
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(parts), "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


def _response(model: str, status: str, usage: tuple[int, int] | None, text: str) -> dict[str, Any]:
    return {
        "id": "resp_67ccd3a9da748190baa7f1570fe91ac6",
        "object": "response",
        "created_at": 1741476777,
        "status": status,
        "model": model,
        "output": (
            [
                {
                    "type": "message",
                    "id": "msg_67ccd3acc8d48190a77525dc6de64b4",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ]
            if text
            else []
        ),
        "usage": (
            {"input_tokens": usage[0], "output_tokens": usage[1], "total_tokens": sum(usage)}
            if usage
            else None
        ),
    }


def responses_frames(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "gpt-5-codex",
    usage: tuple[int, int] = (20, 3),
) -> Frames:
    def event(kind: str, n: int, **fields: Any) -> bytes:
        return sse({"type": kind, "sequence_number": n, **fields}, event=kind)

    item = {"item_id": "msg_67ccd3acc8d48190a77525dc6de64b4", "output_index": 0}
    return Frames(
        start=(
            event("response.created", 0, response=_response(model, "in_progress", None, "")),
            event("response.in_progress", 1, response=_response(model, "in_progress", None, "")),
        ),
        deltas=tuple(
            event("response.output_text.delta", 2 + i, **item, content_index=0, delta=p)
            for i, p in enumerate(parts)
        ),
        end=(
            event("response.output_text.done", 90, **item, content_index=0, text="".join(parts)),
            event(
                "response.completed",
                91,
                response=_response(model, "completed", usage, "".join(parts)),
            ),
        ),
    )


def responses_json(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "gpt-4.1-2025-04-14",
    usage: tuple[int, int] = (20, 3),
) -> dict[str, Any]:
    return _response(model, "completed", usage, "".join(parts))


def messages_frames(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "claude-sonnet-4-5-20250929",
    usage: tuple[int, int] = (25, 15),
    stop_reason: str = "end_turn",
) -> Frames:
    message = {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": 1},
    }
    return Frames(
        start=(
            sse({"type": "message_start", "message": message}, "message_start"),
            sse(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            ),
            sse({"type": "ping"}, "ping"),
        ),
        deltas=tuple(
            sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                },
                "content_block_delta",
            )
            for p in parts
        ),
        end=(
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": usage[1]},
                },
                "message_delta",
            ),
            sse({"type": "message_stop"}, "message_stop"),
        ),
    )


def messages_json(
    parts: tuple[str, ...] = PARTS,
    *,
    model: str = "claude-sonnet-4-5-20250929",
    usage: tuple[int, int] = (25, 15),
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(parts)}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


WHAM_USAGE: dict[str, Any] = {
    "plan_type": "plus",
    "rate_limit": {
        "allowed": True,
        "limit_reached": False,
        "primary_window": {
            "used_percent": 42,
            "limit_window_seconds": 18000,
            "reset_after_seconds": 3600,
            "reset_at": 1900003600,
        },
        "secondary_window": {
            "used_percent": 7,
            "limit_window_seconds": 604800,
            "reset_after_seconds": 400000,
            "reset_at": 1900400000,
        },
    },
    "credits": None,
}

# -- replies -------------------------------------------------------------------------------

Before = Literal["answer", "reset", "silent"]
Then = Literal["end", "cut", "stall"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    frames: list[bytes] | None = None  # an event stream, one chunk per frame
    headers: dict[str, str] = field(default_factory=dict)
    before: Before = "answer"  # reset: RST before any byte; silent: never answer
    then: Then = "end"  # after the frames: end cleanly, cut (no final chunk), stall
    delay: float = 0.0  # seconds before answering (keep it well under a second)
    pace: float = 0.0  # seconds between stream frames: a slow model

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def error(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, body, headers={k.replace("_", "-"): v for k, v in headers.items()})


def stream(frames: list[bytes], then: Then = "end", **headers: str) -> Reply:
    return Reply(
        frames=frames, then=then, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


RESET = Reply(before="reset")
SILENT = Reply(before="silent")


def _openai_error(
    message: str, type_: str | None, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _anthropic_error(type_: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }


# Documented error answers, by the case the tests name. Headers as the services send them.
OPENAI: dict[str, Reply] = {
    "context": error(
        400,
        _openai_error(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
    ),
    "content_policy": error(
        400,
        _openai_error(
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        ),
    ),
    "unauthorized": error(
        401,
        _openai_error(
            "Incorrect API key provided: sk-proj-********************1234. You can find your "
            "API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
    ),
    "forbidden": error(
        403,
        _openai_error(
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
    ),
    "model": error(
        404,
        _openai_error(
            "The model `gpt-9` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
    ),
    "rate_limit_retry_after": error(
        429,
        _openai_error(
            "Rate limit reached for gpt-4.1-mini on requests per min (RPM): Limit 500, Used "
            "500, Requested 1. Please try again in 120ms.",
            "requests",
            "rate_limit_exceeded",
        ),
        retry_after="7",
        x_ratelimit_reset_requests="120ms",
    ),
    "rate_limit": error(
        429,
        _openai_error(
            "Rate limit reached for gpt-4.1-mini on tokens per min (TPM).",
            "tokens",
            "rate_limit_exceeded",
        ),
        x_ratelimit_reset_tokens="6m0s",
    ),
    "usage_limit": error(
        429,
        _openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
    ),
    "500": error(
        500,
        _openai_error(
            "The server had an error while processing your request.", "server_error", None
        ),
    ),
    "502": error(
        502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
    ),
    "503": error(
        503,
        _openai_error(
            "The engine is currently overloaded, please try again later", "server_error", None
        ),
    ),
    "529": error(529, b"", content_type="text/plain"),
}

CODEX: dict[str, Reply] = {
    **OPENAI,
    "unauthorized": error(401, REFUSALS["token_expired"].body),  # as auth.openai.com's
    "forbidden": error(
        403,
        {
            "error": {
                "type": "usage_not_included",
                "message": "Your plan does not include Codex. Upgrade to use it.",
                "plan_type": "free",
            }
        },
    ),
    "model": error(404, {"detail": "Not Found"}),
    "usage_limit": error(
        429,
        {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_at": 1900007200,
                "resets_in_seconds": 7200,
            }
        },
    ),
}

# Anthropic has no content-policy error: a refusal is a 200 whose stop_reason is "refusal"
# (`messages_frames(stop_reason="refusal")`).
ANTHROPIC: dict[str, Reply] = {
    "context": error(
        400,
        _anthropic_error(
            "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
        ),
        request_id="req_011CSHoEeqs5C35K2UUqR7Fy",
    ),
    "unauthorized": error(401, _anthropic_error("authentication_error", "invalid x-api-key")),
    "forbidden": error(
        403,
        _anthropic_error(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
    ),
    "model": error(404, _anthropic_error("not_found_error", "model: claude-9")),
    "rate_limit_retry_after": error(
        429,
        _anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit."),
        retry_after="7",
        anthropic_ratelimit_requests_reset="2030-03-17T17:47:00Z",
    ),
    "rate_limit": error(
        429,
        _anthropic_error("rate_limit_error", "Number of requests has exceeded your rate limit."),
        anthropic_ratelimit_tokens_reset="2030-03-17T17:46:00Z",
    ),
    "usage_limit": error(
        402,
        _anthropic_error(
            "billing_error", "Your credit balance is too low to access the Anthropic API."
        ),
    ),
    "500": error(500, _anthropic_error("api_error", "Internal server error")),
    "502": error(502, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
    "503": error(503, b"upstream connect error", content_type="text/plain"),
    "529": error(529, _anthropic_error("overloaded_error", "Overloaded")),
}

COPILOT: dict[str, Reply] = {
    **OPENAI,
    "context": error(
        400,
        {
            "error": {
                "message": "prompt token count of 140000 exceeds the limit of 128000",
                "code": "model_max_prompt_tokens_exceeded",
            }
        },
    ),
    "content_policy": error(
        400,
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering content "
                "management policy.",
                "code": "content_filter",
            }
        },
    ),
    "unauthorized": error(401, b"unauthorized: token expired\n", content_type="text/plain"),
    "forbidden": error(403, b"Forbidden\n", content_type="text/plain"),
    "model": error(
        400,
        {
            "error": {
                "message": "The requested model is not supported.",
                "code": "model_not_supported",
                "param": "model",
                "type": "invalid_request_error",
            }
        },
    ),
    "usage_limit": error(
        402,
        {"error": {"message": "You have no quota", "code": "quota_exceeded"}},
    ),
}

# -- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # decoded JSON, or None


def _default(seen: Seen) -> Reply:
    streamed = isinstance(seen.body, dict) and seen.body.get("stream") is True
    if seen.path.endswith("/chat/completions"):
        return stream(chat_frames().all()) if streamed else Reply(body=chat_json())
    if seen.path.endswith("/codex/responses"):
        return stream(responses_frames().all())
    if seen.path.endswith("/responses"):
        model = "gpt-4.1-2025-04-14"
        return (
            stream(responses_frames(model=model).all())
            if streamed
            else Reply(body=responses_json())
        )
    if seen.path.endswith("/v1/messages"):
        return stream(messages_frames().all()) if streamed else Reply(body=messages_json())
    if seen.path.endswith("/wham/usage"):
        return Reply(body=WHAM_USAGE)
    return error(404, {"detail": "Not Found"})


class FakeModelAPI:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.routes: dict[str, deque[Reply]] = {}  # by path prefix
        self.seen: list[Seen] = []
        # Checks each request's credential first (e.g. against a real authorization server);
        # a Reply it returns is sent instead of the scripted one.
        self.authorize: Callable[[Seen], Reply | None] | None = None
        # The answer when nothing is queued: each path's documented success by default.
        self.default: Callable[[Seen], Reply] = _default
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def script(self, *replies: Reply, path: str | None = None) -> None:
        """Queue answers for the next requests (under ``path``, a prefix, when given)."""
        if path is None:
            self.replies.extend(replies)
        else:
            self.routes.setdefault(path, deque()).extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.routes.clear()
        self.seen.clear()
        self.authorize = None
        self.default = _default

    def paths(self, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    def _next(self, seen: Seen) -> Reply:
        for prefix, queue in self.routes.items():
            if queue and seen.path.startswith(prefix):
                return queue.popleft()
        return self.replies.popleft() if self.replies else self.default(seen)

    def __enter__(self) -> FakeModelAPI:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        self._listener.close()
        with self._lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._accepting.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            # Stream frames go out as they are written, as from any real HTTP server.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open.add(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            seen = _read_request(conn)
            if seen is None:
                return
            self.seen.append(seen)
            refused = self.authorize(seen) if self.authorize else None
            reply = refused or self._next(seen)
            if reply.delay:
                self._stop.wait(reply.delay)
            self._answer(conn, reply)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _answer(self, conn: socket.socket, reply: Reply) -> None:
        if reply.before == "reset":
            # SO_LINGER 0: close() sends RST, as a crashed proxy would.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if reply.before == "silent":
            _hold(conn)
            return
        headers = {"Connection": "close", **reply.headers}
        if reply.frames is None:
            body = reply.encoded()
            headers.setdefault("content-type", "application/json")
            conn.sendall(_head(reply.status, {**headers, "Content-Length": str(len(body))}) + body)
            return
        headers.setdefault("content-type", "text/event-stream; charset=utf-8")
        conn.sendall(_head(reply.status, {**headers, "Transfer-Encoding": "chunked"}))
        for frame in reply.frames:
            conn.sendall(b"%x\r\n%s\r\n" % (len(frame), frame))
            if reply.pace:
                self._stop.wait(reply.pace)
        if reply.then == "end":
            conn.sendall(b"0\r\n\r\n")
        elif reply.then == "stall":
            _hold(conn)
        # "cut": close without the final chunk; the client sees an incomplete body.


def _hold(conn: socket.socket) -> None:
    """Say nothing until the client gives up (or the server stops)."""
    while conn.recv(4096):
        pass


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Site Overloaded",
}


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    try:
        body = json.loads(rest) if rest else None
    except ValueError:
        body = None
    return Seen(method, target.split("?", 1)[0], headers, body)


@contextlib.contextmanager
def unreachable() -> Iterator[str]:
    """A loopback address whose connects never complete: a listener with a full backlog that
    never accepts, so SYNs are dropped and the client's connect timeout is what ends it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


__all__ = [
    "ANTHROPIC",
    "CODEX",
    "COPILOT",
    "OPENAI",
    "RESET",
    "SILENT",
    "WHAM_USAGE",
    "FakeModelAPI",
    "Frames",
    "Reply",
    "Seen",
    "chat_frames",
    "chat_json",
    "error",
    "messages_frames",
    "messages_json",
    "responses_frames",
    "responses_json",
    "sse",
    "stream",
    "unreachable",
]

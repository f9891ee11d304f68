"""The gateway's logs: JSON lines in ``<state>/logs/gateway.jsonl`` (rotated by size, a fixed
number kept, 0600 in a 0700 directory) and, when stderr is a terminal, readable lines there.

Every handler passes one filter, `Redact`, before anything is written: it renders the
message (arguments, traceback and stack included) and masks what looks like a credential or
is one it was told about, with `clawgate.secret.mask`. The same filter stamps each record
with the request id and turn id of the context it was logged in (`REQUEST_ID`, `TURN_ID`:
set by the gateway's boundary and by the runtime), so every line of a turn carries both."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from clawgate.secret import mask
from clawgate.service._unit import open_log

__all__ = [
    "LOG_BACKUPS",
    "LOG_FILE",
    "LOG_MAX_BYTES",
    "REQUEST_ID",
    "TURN_ID",
    "JsonLines",
    "Redact",
    "close_logging",
    "configure_logging",
]

LOG_FILE = "gateway.jsonl"
LOG_MAX_BYTES = 10 << 20  # a file is rotated once it would grow past this
LOG_BACKUPS = 5  # rotated files kept: gateway.jsonl.1 … .5; older ones are deleted

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clawgate_request_id", default=None
)
TURN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "clawgate_turn_id", default=None
)

# What a credential looks like in text clawgate did not write itself (an upstream's error
# body, an exception's message): API keys, bearer tokens, JWTs (OAuth access and ID tokens),
# GitHub tokens, clawgate's own gateway token, and `key=value` / `"key": "value"` pairs whose
# name says secret. The value is masked; the name is kept, so a line still says what it was.
_SHAPES = re.compile(
    r"(?P<whole>"
    r"\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bcg-[A-Za-z0-9_\-]{16,}"
    r"|\bgh[opsur]_[A-Za-z0-9]{16,}"
    r"|\beyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]*"
    r")"
    r"|(?P<scheme>\b(?:Bearer|Basic)\s+)(?P<credential>[A-Za-z0-9._~+/=\-]{8,})"
    r"|(?P<name>\b(?:api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret"
    r"|password|secret|authorization|x-api-key|key)[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>[^\s\"',&;]{8,})",
    re.IGNORECASE,
)


class Redact(logging.Filter):
    """Masks secrets in a record's whole text; the one filter every handler passes."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        super().__init__()
        self._known: set[str] = set()
        for value in known:
            self.add(value)

    def add(self, value: str) -> None:
        """A secret to mask wherever it appears, whatever its shape."""
        if len(value) >= 8:  # shorter ones would mask ordinary words
            self._known.add(value)

    def redact(self, text: str) -> str:
        for value in sorted(self._known, key=len, reverse=True):
            if value in text:
                text = text.replace(value, mask(value))
        return _SHAPES.sub(_masked, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: say so rather than lose the line
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the redacted text stands in for it from here on
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        if not hasattr(record, "turn_id"):
            record.turn_id = TURN_ID.get()
        return True


def _masked(match: re.Match[str]) -> str:
    if match.group("whole"):
        return mask(match.group("whole"))
    if match.group("credential"):
        return match.group("scheme") + mask(match.group("credential"))
    return match.group("name") + mask(match.group("value"))


_PLAIN = logging.Formatter()


class JsonLines(logging.Formatter):
    """One JSON object a line: at (UTC, ISO 8601), level, logger, message, request_id,
    turn_id, and exception when there was one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "turn_id": getattr(record, "turn_id", None),
        }
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


class _Human(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        ids = " ".join(
            f"{name}={value[:12]}"
            for name, value in (
                ("request", getattr(record, "request_id", None)),
                ("turn", getattr(record, "turn_id", None)),
            )
            if value
        )
        text = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        text += f"  [{ids}]" if ids else ""
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


class _PrivateRotating(logging.handlers.RotatingFileHandler):
    """Each file, the first and every one after a rotation, 0600 and never via a symlink."""

    def _open(self) -> io.TextIOWrapper:  # type: ignore[type-arg,unused-ignore]
        return open(open_log(Path(self.baseFilename)), "a", encoding="utf-8")


_OURS = "_clawgate_handler"
# uvicorn's loggers have handlers of their own (its logging config) and do not propagate:
# they are brought under clawgate's handlers, so the filter sees them too.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(
    logs_dir: Path,
    *,
    level: int = logging.INFO,
    stderr: IO[str] | None = None,
    secrets: Iterable[str] = (),
    max_bytes: int = LOG_MAX_BYTES,
    backups: int = LOG_BACKUPS,
) -> Redact:
    """Install the gateway's handlers on the root logger (replacing ones an earlier call
    installed) and return their filter, to which more secrets can be added."""
    stream = sys.stderr if stderr is None else stderr
    redact = Redact(secrets)
    handlers: list[logging.Handler] = [
        _PrivateRotating(
            logs_dir / LOG_FILE, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    ]
    handlers[0].setFormatter(JsonLines())
    if stream.isatty():
        handlers.append(logging.StreamHandler(stream))
        handlers[1].setFormatter(_Human())
    close_logging()
    root = logging.getLogger()
    for handler in handlers:
        handler.addFilter(redact)
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    # Only clawgate's own lines below WARNING: a library's INFO (each HTTP request httpx
    # makes) is noise here.
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("clawgate").setLevel(level)
    for name in _SERVER_LOGGERS:
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
    return redact


def close_logging() -> None:
    """Remove and close the handlers `configure_logging` installed."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()

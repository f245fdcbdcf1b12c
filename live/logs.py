"""Structured logs: one JSON object per line. Tokens never reach a log line: the access
log writes paths without query strings, and `redact` strips anything token-shaped."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

_TOKEN_RE = re.compile(r"(token=)[^&\s]+|(Bearer\s+)\S+", re.IGNORECASE)
# `color_message` is uvicorn's ANSI-coloured copy of the message: never worth a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    """Replace token values in `text` with `***`."""
    return _TOKEN_RE.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(event, default=str).decode()


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Control characters as `\\xNN`: a path with %0a must not start a forged log line."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(self._line(record))

    def _line(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")
        )
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname:<7} {record.name}: {redact(record.getMessage())}"
        return f"{line} {extras}".rstrip()


class BadFrameFilter(logging.Filter):
    """uvicorn logs every invalid-UTF-8 frame from a client with a traceback at ERROR: a
    client's mistake (or a flood of them), not ours. One INFO line each, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and "Invalid UTF-8" in str(record.msg):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "bad websocket frame from a client (invalid UTF-8)", ()
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger (ours and uvicorn's) through one formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(BadFrameFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    quiet_libraries(level)
    silence_uvicorn_access_log()


# Libraries that log routine work at INFO: aioice logs every ICE check and candidate.
CHATTY_LIBRARIES = ("aioice",)


def quiet_libraries(level: str) -> None:
    """Chatty libraries log warnings and errors only, unless `level` is debug (then
    everything, as a debugging session wants); our own loggers keep `level`."""
    quiet = logging.DEBUG if level.lower() == "debug" else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)


def silence_uvicorn_access_log() -> None:
    """Our access log replaces uvicorn's, whose lines carry query strings (tokens)."""
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False

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


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")
        )
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname:<7} {record.name}: {redact(record.getMessage())}"
        return f"{line} {extras}".rstrip()


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger (ours and uvicorn's) through one formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
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

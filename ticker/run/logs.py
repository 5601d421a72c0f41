"""Logging to stderr, one line per event: time, level, logger, message, then key=value extras."""

from __future__ import annotations

import logging
import sys
import time

from aiohttp.http_exceptions import HttpProcessingError

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        line = f"{when} {record.levelname} {record.name}: {record.getMessage()}"
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        if extras:
            line += " " + " ".join(f"{k}={_value(v)}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _value(value: object) -> str:
    text = str(value)
    return repr(text) if " " in text or not text else text


class BadRequestFilter(logging.Filter):
    """aiohttp.server logs a request it cannot parse (a NUL byte in a header, a malformed request line: what
    scanners and fuzzers send) as an ERROR with the parser's traceback. The 400 it answers is the client's
    fault: make it one WARNING line. Every other record, real errors included, passes untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            reason = next((line.strip() for line in str(exc.message).splitlines() if line.strip()), "malformed")
            record.msg = "bad request from %s: %s (answered %d)"
            record.args = (record.args[0] if isinstance(record.args, tuple) and record.args else "?",)
            record.args += (reason.rstrip(":"), exc.code)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # our runs guard themselves ("busy"); APScheduler's own skip and cancel notices are noise here
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, BadRequestFilter) for f in server.filters):
        server.addFilter(BadRequestFilter())

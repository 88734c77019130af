"""daprd-style log lines on stdout (or ``--log-file``), so logs read alike: logrus' text format
(``time=... level=... msg=...``) or, with ``--log-as-json``, its JSON format with daprd's fields."""

from __future__ import annotations

import json
import logging
import socket
import sys
from datetime import datetime, timezone

from localdapr import RUNTIME_VERSION

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL}


class _DaprdFormatter(logging.Formatter):
    def __init__(self, app_id: str) -> None:
        super().__init__()
        self.app_id = app_id

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="microseconds")
        level = {"WARNING": "warning", "CRITICAL": "fatal"}.get(record.levelname, record.levelname.lower())
        # one line per record, quoted as logrus quotes it (backslashes first, then quotes, newlines)
        msg = record.getMessage().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if record.exc_info:
            msg += " | " + self.formatException(record.exc_info).replace("\n", " | ").replace('"', '\\"')
        fields: dict[str, object] = {
            "app_id": self.app_id, "scope": record.name.replace("localdapr", "dapr", 1), "type": "log",
            "ver": f"{RUNTIME_VERSION}-local", **getattr(record, "fields", {}),
        }
        # logrus' text formatter: fields sorted by name, a value quoted when it needs to be.
        rest = " ".join(f"{k}={_logfmt(v)}" for k, v in sorted(fields.items()))
        return f'time="{ts}" level={level} msg="{msg}" {rest}'


def _logfmt(value: object) -> str:
    text = str(value)
    if text and all(c.isalnum() or c in "-._/@^+" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _JsonFormatter(logging.Formatter):
    """logrus' JSONFormatter as daprd sets it up (kit logger ``EnableJSONOutput``)."""

    def __init__(self, app_id: str) -> None:
        super().__init__()
        self.app_id = app_id
        self.instance = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return json.dumps({
            **getattr(record, "fields", {}), "app_id": self.app_id, "instance": self.instance,
            "level": {"WARNING": "warning", "CRITICAL": "fatal"}.get(record.levelname, record.levelname.lower()),
            "msg": msg, "scope": record.name.replace("localdapr", "dapr", 1),
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="microseconds"),
            "type": "log", "ver": f"{RUNTIME_VERSION}-local",
        }, separators=(",", ":"))


def configure(level: str, app_id: str, *, as_json: bool = False, log_file: str = "") -> None:
    """Log lines to stdout as daprd does, or appended to ``log_file`` only (kit ``setLogOutput``)."""
    handler: logging.Handler = logging.FileHandler(log_file, mode="a") if log_file else logging.StreamHandler(sys.stdout)
    handler.setFormatter(_JsonFormatter(app_id) if as_json else _DaprdFormatter(app_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # Third-party chatter stays at warning unless debugging.
    for noisy in ("uvicorn", "uvicorn.access", "uvicorn.error", "asyncio", "grpc"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)

"""daprd-style log lines (logfmt: time, level, msg, app_id, scope) on stdout, so logs read alike."""

from __future__ import annotations

import logging
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
        return (
            f'time="{ts}" level={level} msg="{msg}" app_id={self.app_id} '
            f"scope={record.name.replace('localdapr', 'dapr', 1)} type=log ver={RUNTIME_VERSION}-local"
        )


def configure(level: str, app_id: str) -> None:
    handler = logging.StreamHandler(sys.stdout)  # daprd logs to stdout
    handler.setFormatter(_DaprdFormatter(app_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # Third-party chatter stays at warning unless debugging.
    for noisy in ("uvicorn", "uvicorn.access", "uvicorn.error", "asyncio", "grpc"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)

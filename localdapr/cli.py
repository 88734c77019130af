"""``python -m localdapr`` / ``localdapr``: the daprd-compatible entry point."""

from __future__ import annotations

import asyncio
import logging
import sys

from localdapr import logs
from localdapr.options import app_id_error, parse_args
from localdapr.server import serve


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    logs.configure(options.log_level, options.app_id)
    problem = app_id_error(options.app_id)
    if problem:  # daprd checks the app id at start-up: a fatal log line and exit 1
        logging.getLogger("localdapr.runtime").critical("Fatal error from runtime: %s", problem)
        return 1
    return asyncio.run(serve(options))
